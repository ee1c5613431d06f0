/**
 * How a customer reads where they paid: the merchant and its store, said once. A store named after its
 * merchant ("Koban Mart Shibuya" of "Koban Mart") is the store's name alone, never "Koban Mart Koban Mart
 * Shibuya"; a store with a name of its own ("Shibuya") follows the merchant's ("Koban Mart Shibuya").
 */
export function placeName(merchantName: string, storeName: string | null): string {
  const store = storeName?.trim() ?? '';
  const merchant = merchantName.trim();
  if (store === '') return merchant;
  if (merchant === '' || store.toLowerCase().includes(merchant.toLowerCase())) return store;
  return `${merchant} ${store}`;
}

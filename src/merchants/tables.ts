import type { Generated } from 'kysely';

export interface MerchantTables {
  merchants: {
    id: string; name: string; category_code: string; status: Generated<'active' | 'suspended' | 'closed'>;
    receivable_account_id: string; created_at: Generated<Date>;
  };
  stores: {
    id: string; merchant_id: string; name: string; address: Generated<string>; latitude: number | null; longitude: number | null;
    status: Generated<'active' | 'closed'>; created_at: Generated<Date>;
  };
  terminals: { id: string; store_id: string; name: string; status: Generated<'active' | 'disabled'>; created_at: Generated<Date> };
}

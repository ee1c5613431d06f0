import type { Generated } from 'kysely';

export interface MerchantTables {
  merchants: {
    id: string; name: string; category_code: string; status: Generated<'applied' | 'active' | 'suspended' | 'closed'>;
    receivable_account_id: string; name_latin: Generated<string | null>; created_at: Generated<Date>;
  };
  stores: {
    id: string; merchant_id: string; name: string; address: Generated<string>; latitude: number | null; longitude: number | null;
    city: Generated<string | null>; city_local: Generated<string | null>; postal_code: Generated<string | null>;
    status: Generated<'active' | 'suspended' | 'closed'>; created_at: Generated<Date>;
  };
  terminals: { id: string; store_id: string; name: string; status: Generated<'active' | 'disabled'>; created_at: Generated<Date> };
}

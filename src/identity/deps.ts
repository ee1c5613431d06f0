/** What every identity function needs, built once by createIdentity (identity.ts). */
import type { IdentityConfig } from '../platform/config.ts';
import type { Database } from '../platform/db/database.ts';
import type { PasswordHasher } from './password/hasher.ts';
import type { RiskPort } from './risk-port.ts';
import type { IdentitySecrets } from './secrets.ts';

export interface IdentityDeps {
  readonly db: Database;
  readonly config: IdentityConfig;
  /** Koban's public origin (`KOBAN_PUBLIC_URL`): the `htu` of a device proof names it (device-proof.ts). */
  readonly publicOrigin: string;
  readonly secrets: IdentitySecrets;
  readonly hasher: PasswordHasher;
  /** The risk engine, plugged in by createKoban right after it creates risk (risk-port.ts). */
  readonly risk: RiskPort;
  /** Operations' kill switches, plugged in by createKoban like risk (all on until then). */
  readonly switches: SwitchPort;
}

export interface SwitchPort {
  isOn(name: string): boolean;
}

// Starts the sandbox bank from BANK_* environment variables (see README.md).
import { closeOnSignals, readSandboxEnv } from '../shared/env.ts';
import { buildBank } from './app.ts';

const DEFAULT_PORT = 4020;

const env = readSandboxEnv('BANK', DEFAULT_PORT);
const app = buildBank({
  apiKey: env.apiKey, webhookSecret: env.webhookSecret, webhookUrl: env.webhookUrl, testApiKey: env.testApiKey, logger: true,
});
closeOnSignals(() => app.close());
await app.listen({ port: env.port, host: env.host });

// Starts the sandbox acquirer from ACQUIRER_* environment variables (see README.md).
import { closeOnSignals, readSandboxEnv } from '../shared/env.ts';
import { buildAcquirer } from './app.ts';

const DEFAULT_PORT = 4010;

const env = readSandboxEnv('ACQUIRER', DEFAULT_PORT);
const app = buildAcquirer({
  apiKey: env.apiKey, webhookSecret: env.webhookSecret, webhookUrl: env.webhookUrl,
  testApiKey: env.testApiKey, publicUrl: env.publicUrl, logger: true,
});
closeOnSignals(() => app.close());
await app.listen({ port: env.port, host: env.host });

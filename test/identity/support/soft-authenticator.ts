// The software WebAuthn authenticator lives with the drill, whose operator holds a software passkey (src/drill/ops.ts).
export * from '../../../src/drill/soft-authenticator.ts';

import { RegistryError } from '../../src/registry/errors.js';

/** The RegistryError `p` rejects with; fails the test on success or on any other error. */
export async function rejection(p: Promise<unknown>): Promise<RegistryError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err instanceof RegistryError) return err;
  throw new Error(`expected a RegistryError, got ${err === undefined ? 'success' : String(err)}`);
}

/**
 * Throws naming `what`, the status and the body unless `res` answered `status`. With `drain`, a
 * matching answer's body is read to the end, so the connection goes back to the pool.
 */
export async function expectStatus(
  res: Response,
  status: number,
  what: string,
  { drain = false }: { drain?: boolean } = {},
): Promise<void> {
  if (res.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${res.status}: ${await res.text()}`);
  }
  if (drain) await res.arrayBuffer();
}

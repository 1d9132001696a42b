import { describe, expect, it } from 'vitest';
import { FAILURE_REASONS, failureReason, RegistryError } from '../../../src/registry/errors.js';

describe('failureReason', () => {
  it.each(FAILURE_REASONS)('keeps a RegistryError’s own reason: %s', (reason) => {
    expect(failureReason(new RegistryError(reason, 'ghcr.io/acme/api: failed'))).toBe(reason);
  });

  it('names anything that is not a RegistryError registry_error', () => {
    expect(failureReason(new Error('socket hang up'))).toBe('registry_error');
    expect(failureReason(new TypeError('fetch failed'))).toBe('registry_error');
    expect(failureReason('a string')).toBe('registry_error');
    expect(failureReason(undefined)).toBe('registry_error');
  });
});

import { readFileSync } from 'node:fs';

/** The tag list a registry gave for `image`, as recorded in test/fixtures/tags/<image>.json. */
export function tagFixture(image: string): string[] {
  const url = new URL(`../fixtures/tags/${image}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as string[];
}

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configurationDocPath, renderConfigurationReference } from '../scripts/docs-config.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const markdown = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The anchors GitHub gives a markdown file's headings: lower case, punctuation dropped, spaces as dashes. */
function headingAnchors(markdownText: string): string[] {
  return [...markdownText.matchAll(/^#{1,6} (.+)$/gm)].map((match) =>
    match[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replaceAll(' ', '-'),
  );
}

describe('docs', () => {
  it('has a configuration reference that matches the config schema (npm run docs:config rewrites it)', () => {
    expect(
      readFileSync(configurationDocPath, 'utf8'),
      'docs/configuration.md is out of date: run `npm run docs:config`',
    ).toBe(renderConfigurationReference());
  });

  it('keeps the README to a screenful or two: at most 8,000 characters, the rest in docs/', () => {
    expect(readFileSync(join(root, 'README.md')).byteLength, 'bytes, as `wc -c README.md` counts').toBeLessThanOrEqual(
      8_000,
    );
  });

  it.each(markdown)('links from %s only to files, folders and headings that exist', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const broken = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1]!)
      .filter((target) => !/^[a-z]+:/.test(target))
      .filter((target) => {
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const resolved = path ? join(root, dirname(file), path) : join(root, file);
        if (!existsSync(resolved)) return true;
        return anchor !== undefined && !headingAnchors(readFileSync(resolved, 'utf8')).includes(anchor);
      });
    expect(broken).toEqual([]);
  });
});

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

// The repository explains itself: the design document lives in it, and no file points outside it.
const root = resolve(__dirname, '..', '..');
const self = relative(root, __filename).split(sep).join('/');

/** Tracked files plus new ones not yet added (so a local run sees them), minus ignored ones. */
function repositoryFiles(): string[] {
  const listing = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '-z'],
    { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  return listing
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(root, file)))
    .sort();
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = heading[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Inline links and images outside code: `[text](target)`, without a scheme. */
function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)]
    .map((match) => match[1])
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe('repository docs', () => {
  const files = repositoryFiles();
  const markdown = files.filter((file) => file.endsWith('.md'));

  it('has its architecture document, linked from the README', () => {
    expect(files).toContain('docs/architecture.md');
    expect(relativeLinks(readFileSync(join(root, 'README.md'), 'utf8'))).toContain(
      'docs/architecture.md',
    );
  });

  it('points nowhere outside the repository: no file mentions ../shared/ or ARCHITECTURE.md', () => {
    const offending = files
      .filter((file) => file !== self)
      .flatMap((file) => {
        const text = readFileSync(join(root, file), 'utf8');
        return text
          .split('\n')
          .flatMap((line, i) =>
            line.includes('../shared/') || line.includes('ARCHITECTURE.md')
              ? [`${file}:${i + 1}: ${line.trim()}`]
              : [],
          );
      });
    expect(offending).toEqual([]);
  });

  it('every relative link of every Markdown page resolves to a file (and heading) in the repository', () => {
    const broken: string[] = [];
    for (const file of markdown) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const link of relativeLinks(text)) {
        const [path, fragment] = link.split('#', 2);
        const target = path === '' ? join(root, file) : resolve(root, dirname(file), path);
        const inside = relative(root, target);
        if (inside.startsWith('..') || !existsSync(target)) {
          broken.push(`${file}: ${link} (no such file in the repository)`);
        } else if (fragment && target.endsWith('.md')) {
          if (!anchorsOf(readFileSync(target, 'utf8')).has(fragment)) {
            broken.push(`${file}: ${link} (no such heading)`);
          }
        }
      }
    }
    expect(markdown.length).toBeGreaterThan(5);
    expect(broken).toEqual([]);
  });
});

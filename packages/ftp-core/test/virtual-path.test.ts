import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VfsError } from '../src/errors.js';
import { isInsideRoot, quotePath, resolveVirtual, toDiskPath } from '../src/vfs/virtual-path.js';

describe('resolveVirtual', () => {
  it.each([
    ['/', '', '/'],
    ['/', '.', '/'],
    ['/a', 'b', '/a/b'],
    ['/a', '/b', '/b'],
    ['/a/b', '..', '/a'],
    ['/a/b', '../../c', '/c'],
    ['/', 'a//b/./c/', '/a/b/c'],
    ['/', '-dash "quoted"', '/-dash "quoted"'],
    ['/', 'ünï cödé', '/ünï cödé'],
    ['/a', '...', '/a/...'],
    ['/', 'a\\..\\b', '/a\\..\\b'],
  ])('%s + %j → %s', (cwd, raw, expected) => {
    expect(resolveVirtual(cwd, raw)).toBe(expected);
  });

  it.each([
    ['/', '..', 'outside-root'],
    ['/', '../etc/passwd', 'outside-root'],
    ['/a', '/../a', 'outside-root'],
    ['/a', '../../a', 'outside-root'],
    ['/', 'a\0b', 'invalid-name'],
    ['/', 'a\r\n226 fake', 'invalid-name'],
  ])('%s + %j is refused (%s)', (cwd, raw, kind) => {
    expect(() => resolveVirtual(cwd, raw)).toThrow(expect.objectContaining({ kind }));
  });

  it('no input escapes the root: the result is absolute, normalised and maps inside the root', () => {
    const segment = fc.constantFrom('..', '.', '', 'a', 'b c', '..a', 'ü', '\\', '~', '%2e%2e', '...');
    const path = fc.tuple(fc.boolean(), fc.array(segment, { maxLength: 8 })).map(([abs, s]) => (abs ? '/' : '') + s.join('/'));
    const cwd = fc.array(fc.constantFrom('a', 'b', 'dir x'), { maxLength: 4 }).map((s) => '/' + s.join('/'));
    fc.assert(
      fc.property(cwd, fc.oneof(path, fc.string({ maxLength: 40 })), (dir, raw) => {
        let out: string;
        try {
          out = resolveVirtual(dir === '/' ? '/' : dir, raw);
        } catch (err) {
          expect(err).toBeInstanceOf(VfsError);
          return;
        }
        expect(out.startsWith('/')).toBe(true);
        expect(out.split('/').includes('..')).toBe(false);
        expect(out === '/' || !out.endsWith('/')).toBe(true);
        expect(isInsideRoot('/srv/home', toDiskPath('/srv/home', out))).toBe(true);
      }),
    );
  });

  it('checks containment on path boundaries', () => {
    expect(isInsideRoot('/srv/home', '/srv/home')).toBe(true);
    expect(isInsideRoot('/srv/home', '/srv/home/x')).toBe(true);
    expect(isInsideRoot('/srv/home', '/srv/homeevil')).toBe(false);
    expect(isInsideRoot('/srv/home', '/srv')).toBe(false);
  });

  it('quotes 257 paths by doubling quotes', () => {
    expect(quotePath('/a "b"')).toBe('"/a ""b"""');
  });
});

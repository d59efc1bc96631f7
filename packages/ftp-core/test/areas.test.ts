import { describe, expect, it } from 'vitest';
import { diskPathIn, FsAreas, pathInArea, virtualPathIn, type FsArea } from '../src/vfs/areas.js';

const area = (path: string, root: string, folder: string | null = null): FsArea => ({
  path,
  root,
  folder,
  quotaBytes: null,
  quotaFiles: null,
});
const home = area('/', '/srv/home/alice');
const reports = area('/shared/reports', '/srv/folders/reports', 'reports');
const deep = area('/shared/reports/archive', '/mnt/archive', 'archive');
const pub = area('/pub', '/srv/folders/pub', 'pub');
const areas = new FsAreas(home, [reports, deep, pub, area('/', '/nowhere', 'ignored')]);

describe('FsAreas', () => {
  it.each([
    ['/', home],
    ['/shared', home],
    ['/shared/report', home],
    ['/shared/reports', reports],
    ['/shared/reports/q1.csv', reports],
    ['/shared/reportsx', home],
    ['/shared/reports/archive', deep],
    ['/shared/reports/archive/2020/a.zip', deep],
    ['/pub', pub],
    ['/public', home],
  ])('%s belongs to the area at %s', (vpath, expected) => {
    expect(areas.of(vpath)).toBe(expected);
  });

  it('knows mount points, the mounts in a folder, and folders that hold one', () => {
    expect(areas.mountAt('/shared/reports')).toBe(reports);
    expect(areas.mountAt('/shared/reports/q1.csv')).toBeUndefined();
    expect(areas.mountAt('/')).toBeUndefined(); // a mount at / is never one
    expect(areas.mountsIn('/shared')).toEqual([reports]);
    expect(areas.mountsIn('/')).toEqual([pub]);
    expect(areas.mountsIn('/pub')).toEqual([]);
    expect(areas.holdsMount('/')).toBe(true);
    expect(areas.holdsMount('/shared')).toBe(true);
    expect(areas.holdsMount('/shared/reports')).toBe(true);
    expect(areas.holdsMount('/shared/reports/archive')).toBe(false);
    expect(areas.holdsMount('/pub')).toBe(false);
    expect(areas.all()).toEqual([home, reports, deep, pub]);
  });

  it('maps virtual paths to disk paths inside their area and back', () => {
    expect(diskPathIn(home, '/shared/x')).toBe('/srv/home/alice/shared/x');
    expect(diskPathIn(reports, '/shared/reports')).toBe('/srv/folders/reports');
    expect(diskPathIn(reports, '/shared/reports/a/b')).toBe('/srv/folders/reports/a/b');
    expect(pathInArea(reports, '/shared/reports/a')).toBe('/a');
    expect(pathInArea(home, '/a')).toBe('/a');
    expect(virtualPathIn(reports, '/srv/folders/reports')).toBe('/shared/reports');
    expect(virtualPathIn(reports, '/srv/folders/reports/a/b')).toBe('/shared/reports/a/b');
    expect(virtualPathIn(home, '/srv/home/alice')).toBe('/');
    expect(virtualPathIn(home, '/srv/home/alice/c')).toBe('/c');
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, copyFileSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

// A root filesystem like Google's distroless C/C++ image for Debian 12 (gcr.io/distroless/cc-debian12), made
// without Docker from what that image is made of (github.com/GoogleContainerTools/distroless: static/static.bzl,
// base/config.bzl, cc/config.bzl, common/BUILD.bazel): the same Debian 12 packages, unpacked with dpkg-deb, and
// the files distroless writes itself (users root, nobody and nonroot, /tmp, home folders, nsswitch.conf, the
// CA bundle). Docker is replaced by util-linux `unshare` (chroot, working directory, user) and bind mounts of
// the host's /proc and /dev.
const run = promisify(execFile);

/** Debian 12 packages of distroless's static, base and cc images (ca-certificates is reduced to its bundle). */
export const DISTROLESS_CC_PACKAGES = ['base-files', 'netbase', 'tzdata', 'media-types', 'libc6', 'libssl3', 'libgomp1', 'libstdc++6', 'libgcc-s1', 'gcc-12-base'];
/** uid and gid of distroless's `nonroot` user. */
export const NONROOT = 65532;
/** The environment distroless images set (their image configuration), and the HOME Docker gives `nonroot`. */
export const DISTROLESS_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt', HOME: '/home/nonroot' };
/** The .deb files, kept between runs (a clean machine downloads them once, ≈ 12 MB). */
const DEB_CACHE = path.join(tmpdir(), 'powiadom-test-debs');
/** Temporary folders of this kind hold a root with mounts: `<prefix><pid>-…`, so a dead run's can be found. */
export const ROOT_FOLDER_PREFIX = 'powiadom-image-';

/** Builds the distroless cc-debian12 file system in `root` (an empty or missing folder). */
export async function buildDistrolessRoot(root: string): Promise<void> {
  mkdirSync(root, { recursive: true });
  const [ca, ...debs] = await debFiles(['ca-certificates', ...DISTROLESS_CC_PACKAGES]);
  for (const deb of debs) await run('dpkg-deb', ['-x', deb!, root], { timeout: 120_000 });
  await addCaBundle(root, ca!);
  writeFileSync(path.join(root, 'etc/passwd'), ['root:x:0:0:root:/root:/sbin/nologin', 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin', `nonroot:x:${NONROOT}:${NONROOT}:nonroot:/home/nonroot:/sbin/nologin`, ''].join('\n'));
  writeFileSync(path.join(root, 'etc/group'), ['root:x:0:', 'nobody:x:65534:', 'tty:x:5:', 'staff:x:50:', `nonroot:x:${NONROOT}:`, ''].join('\n'));
  writeFileSync(path.join(root, 'etc/nsswitch.conf'), 'passwd: compat\ngroup: compat\nshadow: compat\ngshadow: files\nhosts: files dns\nnetworks: files\nprotocols: db files\nservices: db files\nethers: db files\nrpc: db files\nnetgroup: nis\n');
  for (const [dir, mode, owner] of [['tmp', 0o1777, 0], ['root', 0o700, 0], ['home', 0o755, 0], ['home/nonroot', 0o700, NONROOT]] as const) {
    mkdirSync(path.join(root, dir), { recursive: true });
    chmodSync(path.join(root, dir), mode);
    chownSync(path.join(root, dir), owner, owner);
  }
}

/** distroless keeps of ca-certificates only one file: every certificate of the package, concatenated in name order. */
async function addCaBundle(root: string, deb: string): Promise<void> {
  const unpacked = mkdtempSync(path.join(tmpdir(), 'powiadom-ca-'));
  try {
    await run('dpkg-deb', ['-x', deb, unpacked], { timeout: 120_000 });
    const certs = path.join(unpacked, 'usr/share/ca-certificates');
    const bundle = path.join(root, 'etc/ssl/certs/ca-certificates.crt');
    mkdirSync(path.dirname(bundle), { recursive: true });
    writeFileSync(bundle, '');
    for (const file of (readdirSync(certs, { recursive: true, encoding: 'utf8' }) as string[]).sort()) {
      if (statSync(path.join(certs, file)).isFile()) appendFileSync(bundle, readFileSync(path.join(certs, file)));
    }
    mkdirSync(path.join(root, 'usr/share/doc/ca-certificates'), { recursive: true });
    copyFileSync(path.join(unpacked, 'usr/share/doc/ca-certificates/copyright'), path.join(root, 'usr/share/doc/ca-certificates/copyright'));
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
}

/** The cached .deb of each package (the newest cached), downloading the missing ones with `apt-get download`. */
async function debFiles(packages: string[]): Promise<string[]> {
  mkdirSync(DEB_CACHE, { recursive: true });
  const cached = (name: string) =>
    readdirSync(DEB_CACHE)
      .filter((file) => file.startsWith(`${name}_`) && file.endsWith('.deb'))
      .sort((a, b) => statSync(path.join(DEB_CACHE, a)).mtimeMs - statSync(path.join(DEB_CACHE, b)).mtimeMs)
      .at(-1);
  const missing = packages.filter((name) => !cached(name));
  if (missing.length > 0) await download(missing);
  return packages.map((name) => path.join(DEB_CACHE, cached(name) ?? assert.fail(`apt-get download left no .deb of ${name}`)));
}

/** Downloads into a folder of its own, then moves into the cache: a concurrent run never sees half a file. */
async function download(packages: string[]): Promise<void> {
  const staging = mkdtempSync(path.join(DEB_CACHE, '.download-'));
  try {
    await run('apt-get', ['download', ...packages], { cwd: staging, timeout: 300_000 }).catch(async () => {
      // a machine whose package lists were never fetched (or are stale: the mirror dropped that version)
      await run('apt-get', ['update', '-qq'], { timeout: 300_000 });
      await run('apt-get', ['download', ...packages], { cwd: staging, timeout: 300_000 });
    });
    for (const file of readdirSync(staging)) renameSync(path.join(staging, file), path.join(DEB_CACHE, file));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The command that runs `argv` inside `root` as a container runtime would: root directory, working directory,
 * no supplementary groups, gid, uid, then exec. unshare (util-linux) does all of it (coreutils' chroot cannot
 * set a working directory, and the service reads `.env` from its working directory); with no namespace option
 * it unshares nothing and execs, so the process it starts is argv[0] itself, which receives our signals.
 */
export function commandInRoot(root: string, as: { uid: number; gid: number; workdir: string }, argv: string[]): [string, string[]] {
  return ['unshare', [`--root=${root}`, `--wd=${as.workdir}`, `--setgid=${as.gid}`, `--setuid=${as.uid}`, '--', ...argv]];
}

/** Mount points at or under `dir`, deepest first, with their per-mount options (from /proc/self/mountinfo). */
function mountsUnder(dir: string): { point: string; options: string }[] {
  const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '))
    .map((fields) => ({ point: unescape(fields[4]!), options: fields[5]! }))
    .filter(({ point }) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.point.length - a.point.length);
}

/**
 * Bind-mounts the host's /proc and /dev into `root`, as Docker gives a container its own. Read-only: should
 * cleaning up ever remove the folder with a mount still in place, it cannot delete the host's device files.
 */
export async function mountProcAndDev(root: string): Promise<void> {
  for (const dir of ['proc', 'dev']) {
    const point = path.join(root, dir);
    mkdirSync(point, { recursive: true });
    await run('mount', ['--bind', `/${dir}`, point]);
    await run('mount', ['-o', 'remount,bind,ro', point]);
    assert.match(mountsUnder(point).find((m) => m.point === point)?.options ?? '', /^ro\b/, `${point} is mounted read-only`);
  }
}

/** Unmounts everything under `folder`, then deletes it; refuses to delete while a mount is left (never crosses into /dev). */
export async function removeRootFolder(folder: string): Promise<void> {
  for (const { point } of mountsUnder(folder)) {
    await run('umount', [point]).catch(() => run('umount', ['--lazy', point]));
  }
  const left = mountsUnder(folder).map((m) => m.point);
  assert.deepEqual(left, [], `still mounted, so ${folder} is kept`);
  rmSync(folder, { recursive: true, force: true });
}

/** Removes the root folders (and their mounts) of runs whose process is gone: a run killed before its clean-up. */
export async function removeDeadRunsFolders(): Promise<void> {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(ROOT_FOLDER_PREFIX))) {
    const pid = Number(new RegExp(`^${ROOT_FOLDER_PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (!pid || isAlive(pid)) continue;
    await removeRootFolder(path.join(tmpdir(), name));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Bytes of the files at or under `file` as a tar layer holds them: apparent sizes, links not followed, hard links once. */
export function treeBytes(file: string, seen = new Set<string>()): number {
  const stat = lstatSync(file);
  if (stat.isDirectory()) return readdirSync(file).reduce((bytes, name) => bytes + treeBytes(path.join(file, name), seen), 0);
  if (!stat.isFile()) return 0;
  if (stat.nlink > 1) {
    if (seen.has(`${stat.dev}:${stat.ino}`)) return 0;
    seen.add(`${stat.dev}:${stat.ino}`);
  }
  return stat.size;
}

/** Every path under `root` but `skip` (mount points) with what a write changes: type, size, mode, owner, mtime, ctime. */
export function snapshot(root: string, skip: string[]): Map<string, string> {
  const entries = new Map<string, string>();
  const walk = (relative: string) => {
    const stat = lstatSync(path.join(root, relative));
    entries.set(relative, [stat.mode, stat.size, stat.uid, stat.gid, stat.mtimeMs, stat.ctimeMs].join(' '));
    if (stat.isDirectory()) for (const name of readdirSync(path.join(root, relative))) if (!skip.includes(path.join(relative, name))) walk(path.join(relative, name));
  };
  walk('.');
  return entries;
}

/** Paths added, removed or changed from one snapshot to the other. */
export function changedPaths(before: Map<string, string>, after: Map<string, string>): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((p) => before.get(p) !== after.get(p)).sort();
}

/** Files that can be executed in the folders a shell or PATH would look in (relative to `root`). */
export function programsIn(root: string): string[] {
  const dirs = ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'usr/local/bin', 'usr/local/sbin', 'busybox'];
  return dirs
    .filter((dir) => existsSync(path.join(root, dir)) && lstatSync(path.join(root, dir)).isDirectory())
    .flatMap((dir) => readdirSync(path.join(root, dir)).map((name) => path.join(dir, name)))
    .filter((file) => lstatSync(path.join(root, file)).isSymbolicLink() || (statSync(path.join(root, file)).mode & 0o111) !== 0)
    .sort();
}

/** Gives `file` and everything under it to uid:gid (COPY --chown). */
export function chownTree(file: string, uid: number, gid: number): void {
  lchownSync(file, uid, gid);
  if (lstatSync(file).isDirectory()) for (const name of readdirSync(file)) chownTree(path.join(file, name), uid, gid);
}

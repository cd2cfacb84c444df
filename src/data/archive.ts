/**
 * Unpack cifar-10-binary.tar.gz safely and atomically.
 *
 * Only the files CIFAR-10 has, as plain files under `cifar-10-batches-bin/`, are accepted, each
 * no larger than it can be: links, devices, absolute paths, `..` and any other name are refused,
 * so an archive cannot write outside the data folder nor more than the dataset's size.
 * Everything is unpacked into a temporary folder beside the destination, checked, and only
 * then renamed into place: a crash never leaves a half-unpacked `cifar-10-batches-bin`. The
 * temporary folder is named by its host and process (`.unpack-<host>-<pid>-XXXXXX`): Ctrl-C,
 * SIGTERM or SIGHUP stops the unpack and removes it, and the next unpack removes those of
 * processes that are gone (SIGKILL, a power cut).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import * as tar from 'tar';
import { CIFAR_BATCH_BYTES, CIFAR_META_BYTES, CIFAR_RECORD, CIFAR_TEST_FILE, CIFAR_TRAIN_FILES } from './cifar.js';
import { isAlive } from '../io/process.js';
import { DataError, STOP_SIGNALS, StoppedBySignal } from './errors.js';
import { openRegularFile, readRegularFile } from './files.js';

export const CIFAR_DIR_NAME = 'cifar-10-batches-bin';
/** Written into an unpacked folder: which archive it came from, so it is not unpacked twice. */
export const SOURCE_MARKER = '.source.json';

export interface ArchiveSource {
  archive: string;
  size: number;
  mtimeMs: number;
  url?: string;
}

/** The marker of an unpacked folder, or null. */
export function readMarker(dir: string): ArchiveSource | null {
  try {
    // Read like any data file: a FIFO or device planted there is not waited on.
    return JSON.parse(readRegularFile(path.join(dir, SOURCE_MARKER), 64 * 1024, 'a small JSON file').toString('utf8')) as ArchiveSource;
  } catch {
    return null;
  }
}

/** Identity of an archive file, as stored in the marker. */
export function archiveIdentity(file: string): ArchiveSource {
  const st = fs.statSync(file);
  return { archive: path.resolve(file), size: st.size, mtimeMs: st.mtimeMs };
}

/**
 * Every file the CIFAR-10 binary archive holds under cifar-10-batches-bin/, with the most bytes
 * each can have: six batches of 10,000 records, the class names, and the official archive's
 * short readme.html. Nothing else is unpacked.
 */
export const CIFAR_ENTRY_LIMITS: ReadonlyMap<string, number> = new Map([
  ...[...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE].map((f): [string, number] => [f, CIFAR_BATCH_BYTES]),
  ['batches.meta.txt', CIFAR_META_BYTES],
  ['readme.html', 64 * 1024],
]);
/** The most bytes an unpack writes: every file at its largest (184.5 MB). */
export const MAX_UNPACKED_BYTES = [...CIFAR_ENTRY_LIMITS.values()].reduce((a, b) => a + b, 0);
/** The longest tar stream accepted: the files, a 512-byte header and padding for each, the end blocks and their record padding, and some pax headers. */
export const MAX_TAR_BYTES = MAX_UNPACKED_BYTES + 1024 * 1024;
/** The largest archive file accepted (a gzip is at most a few bytes per 64 KiB longer than its tar). */
export const MAX_ARCHIVE_BYTES = MAX_TAR_BYTES + 1024 * 1024;

/** The start of an unpack's temporary folder's name in the data root. */
const UNPACK_PREFIX = '.unpack-';
/** An unpack's temporary folder: `.unpack-<host>-<pid>-` and six random characters (mkdtemp). */
const UNPACK_NAME = /^\.unpack-(.+)-(\d+)-[A-Za-z0-9]{6}$/;
/** How old a temporary folder of an earlier version (`.unpack-XXXXXX`, no pid) must be to count as left behind: an unpack takes about a minute. */
const OLD_UNPACK_SECONDS = 3600;

/**
 * Remove the temporary folders earlier unpacks left in `root` when their process was killed
 * (SIGKILL, a power cut, an earlier version's Ctrl-C): this host's whose process is gone, and
 * earlier versions' older than an hour. Returns the folders removed.
 */
export function removeStaleUnpacks(root: string, now = Date.now()): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(root).filter((n) => n.startsWith(UNPACK_PREFIX));
  } catch {
    return [];
  }
  const stale = names.filter((n) => {
    const m = UNPACK_NAME.exec(n);
    if (m) return m[1] === os.hostname() && !isAlive(Number(m[2]));
    if (!/^\.unpack-[A-Za-z0-9]{6}$/.test(n)) return false;
    try {
      return now - fs.statSync(path.join(root, n)).mtimeMs > OLD_UNPACK_SECONDS * 1000;
    } catch {
      return false;
    }
  });
  for (const n of stale) fs.rmSync(path.join(root, n), { recursive: true, force: true });
  return stale.map((n) => path.join(root, n));
}

/**
 * Passes the tar stream through while counting it, and fails at the first byte past `limit`, so
 * a gzip bomb is stopped after MAX_TAR_BYTES of output, not after it filled the disk. It also
 * refuses a tar stream that is itself compressed (node-tar would inflate it again, in memory).
 */
class TarBound extends Transform {
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly archive: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    if (this.bytes === 0 && chunk.length >= 2 && chunk[0] === 0x1f && chunk[1] === 0x8b) {
      done(new DataError(`${this.archive} is gzipped twice (the archive inside is compressed again); it is not the CIFAR-10 binary archive`));
      return;
    }
    if (this.bytes + chunk.length > this.limit) {
      done(new DataError(`${this.archive} unpacks to more than ${this.limit} bytes, more than the CIFAR-10 binary archive can hold; it is not that archive (a gzip bomb?), so nothing was unpacked`));
      return;
    }
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/**
 * The unpacked files of `tmp` checked (every batch file there, whole records), marked with the
 * archive they came from, and swapped into `<destRoot>/cifar-10-batches-bin`: the old folder (if
 * any) is moved aside first, then removed with `tmp`.
 */
function swapIntoPlace(tmp: string, destRoot: string, marker: ArchiveSource, label: string): string {
  const unpacked = path.join(tmp, CIFAR_DIR_NAME);
  for (const f of [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE]) {
    const file = path.join(unpacked, f);
    if (!fs.existsSync(file)) throw new DataError(`${label} has no ${CIFAR_DIR_NAME}/${f}; it is not the CIFAR-10 binary archive (the python and matlab versions are different files)`);
    const size = fs.statSync(file).size;
    if (size === 0 || size % CIFAR_RECORD !== 0) {
      throw new DataError(`${label}: ${CIFAR_DIR_NAME}/${f} has ${size} bytes, not a whole number of 3,073-byte records`);
    }
  }
  fs.writeFileSync(path.join(unpacked, SOURCE_MARKER), JSON.stringify(marker, null, 2) + '\n');
  // Swap into place: the old folder (if any) is moved aside first, then removed.
  const dest = path.join(destRoot, CIFAR_DIR_NAME);
  const old = path.join(tmp, 'old');
  if (fs.existsSync(dest)) fs.renameSync(dest, old);
  fs.renameSync(unpacked, dest);
  return dest;
}

/**
 * Unpack `archive` into `<destRoot>/cifar-10-batches-bin` (replacing what is there) and return that path.
 *
 * The archive is streamed (read, inflated by node's zlib with backpressure, split by node-tar)
 * and every entry is checked from its header before a byte of it is written: a name the
 * CIFAR-10 archive does not have, a second copy of a name, a folder where a batch file should
 * be, or a size past what that file can be stops the whole unpack at once. With the stream's own
 * bound (TarBound), no archive makes it write more than MAX_UNPACKED_BYTES or hold more than a
 * few chunks in memory.
 */
export async function extractCifarArchive(archive: string, destRoot: string, extra: Partial<ArchiveSource> = {}, label = archive): Promise<string> {
  const { fd } = openRegularFile(archive, MAX_ARCHIVE_BYTES, 'the CIFAR-10 binary archive, cifar-10-binary.tar.gz');
  let gzipped: boolean;
  let tmp: string;
  try {
    gzipped = isGzipped(fd, label);
    fs.mkdirSync(destRoot, { recursive: true });
    removeStaleUnpacks(destRoot);
    tmp = fs.mkdtempSync(path.join(destRoot, `${UNPACK_PREFIX}${os.hostname()}-${process.pid}-`));
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  const unpack = new Unpacking(label, fs.createReadStream('', { fd, start: 0, highWaterMark: 1 << 16 }));
  try {
    await unpack.into(tmp, gzipped);
    return swapIntoPlace(tmp, destRoot, { ...archiveIdentity(archive), ...extra }, label);
  } finally {
    unpack.release();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Whether the file starts with gzip's magic bytes 1f 8b. */
function isGzipped(fd: number, label: string): boolean {
  const magic = Buffer.alloc(2);
  try {
    fs.readSync(fd, magic, 0, 2, 0);
  } catch (e) {
    throw new DataError(`cannot read ${label}: ${(e as Error).message}`);
  }
  return magic[0] === 0x1f && magic[1] === 0x8b;
}

/**
 * One unpack of an archive's stream: the entries accepted so far, those refused (up to 3 are
 * listed, then the unpack stops), and the first reason it was stopped (an entry past its size,
 * the stream past its bound, a signal), which destroys the source at once.
 */
class Unpacking {
  private readonly refused: string[] = [];
  private readonly seen = new Set<string>();
  private fatal: DataError | null = null;

  constructor(
    private readonly label: string,
    private readonly source: fs.ReadStream,
  ) {
    // A signal stops the unpack; extractCifarArchive then removes the temporary folder.
    for (const s of STOP_SIGNALS) process.on(s, this.onSignal);
  }

  private readonly onSignal = (sig: NodeJS.Signals): void =>
    this.stop(new StoppedBySignal(`unpacking ${this.label} stopped by ${sig === 'SIGINT' ? 'Ctrl-C' : sig}; the partial unpack was removed`, sig));

  release(): void {
    for (const s of STOP_SIGNALS) process.off(s, this.onSignal);
  }

  private stop(e: DataError): void {
    this.fatal ??= e;
    this.source.destroy();
  }

  private refusedError(): DataError {
    const { refused } = this;
    return new DataError(
      `${this.label} holds entries outside ${CIFAR_DIR_NAME}/, or that are not its plain files (${refused.slice(0, 3).join('; ')}${refused.length > 3 ? '; …' : ''}); ` +
        `it is not the CIFAR-10 binary archive, so nothing was unpacked`,
    );
  }

  /** node-tar's filter: whether to write an entry, judged from its header (refuseEntry). */
  private readonly filter = (p: string, entry: unknown): boolean => {
    if (this.fatal) return false;
    const e = entry as { type?: string; size?: number };
    const why = refuseEntry(p, e, this.seen);
    if (why === null) return true;
    if (why.tooBig) this.stop(new DataError(`${this.label} ${why.tooBig}; it is not the CIFAR-10 binary archive, so nothing was unpacked`));
    else {
      this.refused.push(why.entry);
      // Skipping a few stray entries costs little; a big one, or a fourth, ends the unpack.
      if (this.refused.length > 3 || (e.size ?? 0) > CIFAR_BATCH_BYTES) this.stop(this.refusedError());
    }
    return false;
  };

  /** The source, inflated when gzipped, bounded (TarBound) and split by node-tar into `dir`. */
  async into(dir: string, gzipped: boolean): Promise<void> {
    const gunzip = gzipped ? zlib.createGunzip() : null;
    const bound = new TarBound(MAX_TAR_BYTES, this.label);
    const unpack = new tar.Unpack({
      cwd: dir,
      strict: true,
      preservePaths: false,
      // The stream reaching node-tar is a plain tar: it must not look for more compression.
      brotli: false,
      zstd: false,
      maxMetaEntrySize: 64 * 1024,
      filter: this.filter,
    } as ConstructorParameters<typeof tar.Unpack>[0]);
    try {
      await new Promise<void>((resolve, reject) => {
        const fail = (e: Error) => reject(this.fatal ?? (this.refused.length > 0 ? this.refusedError() : e));
        unpack.on('close', () => resolve());
        unpack.on('error', fail);
        this.source.on('error', fail);
        this.source.on('close', () => {
          if (this.fatal) reject(this.fatal);
        });
        bound.on('error', fail);
        gunzip?.on('error', fail);
        const tarStream = gunzip ? this.source.pipe(gunzip).pipe(bound) : this.source.pipe(bound);
        tarStream.pipe(unpack as unknown as NodeJS.WritableStream);
      });
    } catch (e) {
      unpack.abort(e as Error);
      if (this.fatal) throw this.fatal;
      if (this.refused.length > 0) throw this.refusedError();
      if (e instanceof DataError) throw e;
      throw new DataError(`${this.label} is not a readable .tar.gz archive (${(e as Error).message}). It may be truncated or corrupt: download it again.`);
    }
    if (this.fatal) throw this.fatal; // a signal after the last byte was read
    if (this.refused.length > 0) throw this.refusedError();
  }
}

/**
 * Why a tar entry cannot be part of the CIFAR-10 binary archive, or null if it can: `entry`
 * describes a stray entry, `tooBig` one of its files past its size. `seen` collects the names
 * accepted so far.
 */
function refuseEntry(p: string, entry: { type?: string; size?: number }, seen: Set<string>): { entry: string; tooBig?: string } | null {
  const refuse = (what: string) => ({ entry: what });
  const type = entry.type ?? 'unknown type';
  const norm = path.posix.normalize(p.replace(/\\/g, '/')).replace(/\/+$/, '');
  const shown = `${JSON.stringify(p)} (${type})`;
  if (path.posix.isAbsolute(norm) || norm.split('/').includes('..')) return refuse(`${shown}, a path outside ${CIFAR_DIR_NAME}/`);
  const inDir = norm.startsWith(`${CIFAR_DIR_NAME}/`) ? norm.slice(CIFAR_DIR_NAME.length + 1) : null;
  if (norm === CIFAR_DIR_NAME) return type === 'Directory' ? null : refuse(`${shown}, where the folder ${CIFAR_DIR_NAME}/ should be`);
  if (inDir === null) return refuse(shown);
  const limit = CIFAR_ENTRY_LIMITS.get(inDir);
  if (limit === undefined) {
    return refuse(`${shown}, not one of ${[...CIFAR_ENTRY_LIMITS.keys()].join(', ')}`);
  }
  if (type !== 'File' && type !== 'OldFile') return refuse(`${shown}, which is a plain file in CIFAR-10`);
  if (seen.has(inDir)) return refuse(`${CIFAR_DIR_NAME}/${inDir} a second time`);
  const size = entry.size ?? 0;
  if (size > limit) return { entry: `${CIFAR_DIR_NAME}/${inDir}`, tooBig: `holds ${CIFAR_DIR_NAME}/${inDir} of ${size} bytes, but that file has at most ${limit} in CIFAR-10` };
  seen.add(inDir);
  return null;
}

/**
 * Known CIFAR-10 binary archives. The official page (https://www.cs.toronto.edu/~kriz/cifar.html)
 * publishes the md5 of cifar-10-binary.tar.gz; ../shared/data/README.md gives the sha256 of the
 * shared copy. A download must match one of them unless verification is turned off.
 */
export const KNOWN_CIFAR_ARCHIVES: { what: string; md5?: string; sha256?: string }[] = [
  { what: 'the official cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530' },
  { what: 'the JPEG-decoded copy in ../shared/data', sha256: '2415c7832d803913fc195efac5577a90a5491458517637c4a4514d9d06a60f1a' },
];

/** Which known archive `file` is, or a DataError that prints its hashes beside the expected ones. */
export function verifyCifarArchive(file: string, origin: string): string {
  const sha256 = hashFile(file, 'sha256');
  const md5 = hashFile(file, 'md5');
  const hit = KNOWN_CIFAR_ARCHIVES.find((k) => k.sha256 === sha256 || k.md5 === md5);
  if (hit) return hit.what;
  const expected = KNOWN_CIFAR_ARCHIVES.map((k) => `${k.what}: ${k.sha256 ? `sha256 ${k.sha256}` : `md5 ${k.md5}`}`).join('; ');
  throw new DataError(
    `${origin} is not a known CIFAR-10 archive: it has sha256 ${sha256} and md5 ${md5}; expected ${expected}. ` +
      'It may be corrupt or tampered with, so it was not used. For a custom archive, pass --no-verify.',
  );
}

/** Hex digest of a file. */
export function hashFile(file: string, algorithm: 'sha256' | 'md5'): string {
  const h = crypto.createHash(algorithm);
  const { fd } = openRegularFile(file, MAX_ARCHIVE_BYTES, 'a CIFAR-10 archive');
  try {
    const buf = Buffer.alloc(1 << 20);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * Unpack cifar-10-binary.tar.gz safely and atomically.
 *
 * Only regular files and folders under `cifar-10-batches-bin/` are accepted: links, devices,
 * absolute paths and `..` are refused, so an archive cannot write outside the data folder.
 * Everything is unpacked into a temporary folder beside the destination, checked, and only
 * then renamed into place: a crash never leaves a half-unpacked `cifar-10-batches-bin`.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar';
import { CIFAR_RECORD, CIFAR_TEST_FILE, CIFAR_TRAIN_FILES } from './cifar.js';
import { DataError } from './errors.js';

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
    return JSON.parse(fs.readFileSync(path.join(dir, SOURCE_MARKER), 'utf8')) as ArchiveSource;
  } catch {
    return null;
  }
}

/** Identity of an archive file, as stored in the marker. */
export function archiveIdentity(file: string): ArchiveSource {
  const st = fs.statSync(file);
  return { archive: path.resolve(file), size: st.size, mtimeMs: st.mtimeMs };
}

/** Unpack `archive` into `<destRoot>/cifar-10-batches-bin` (replacing what is there) and return that path. */
export async function extractCifarArchive(archive: string, destRoot: string, extra: Partial<ArchiveSource> = {}): Promise<string> {
  fs.mkdirSync(destRoot, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(destRoot, '.unpack-'));
  try {
    const refused: string[] = [];
    try {
      await tar.x({
        file: archive,
        cwd: tmp,
        strict: true,
        preservePaths: false,
        filter: (p: string, entry: unknown) => {
          const type = (entry as { type?: string }).type;
          const norm = path.posix.normalize(p.replace(/\\/g, '/'));
          const ok =
            (type === 'File' || type === 'OldFile' || type === 'Directory') &&
            !path.posix.isAbsolute(norm) &&
            !norm.split('/').includes('..') &&
            (norm === CIFAR_DIR_NAME || norm === `${CIFAR_DIR_NAME}/` || norm.startsWith(`${CIFAR_DIR_NAME}/`));
          if (!ok) refused.push(`${p} (${type ?? 'unknown type'})`);
          return ok;
        },
      });
    } catch (e) {
      throw new DataError(`${archive} is not a readable .tar.gz archive (${(e as Error).message}). It may be truncated or corrupt: download it again.`);
    }
    if (refused.length > 0) {
      throw new DataError(
        `${archive} holds entries outside ${CIFAR_DIR_NAME}/ or that are not plain files (${refused.slice(0, 3).join(', ')}${refused.length > 3 ? ', …' : ''}); it is not the CIFAR-10 binary archive, so nothing was unpacked`,
      );
    }
    const unpacked = path.join(tmp, CIFAR_DIR_NAME);
    for (const f of [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE]) {
      const file = path.join(unpacked, f);
      if (!fs.existsSync(file)) throw new DataError(`${archive} has no ${CIFAR_DIR_NAME}/${f}; it is not the CIFAR-10 binary archive (the python and matlab versions are different files)`);
      const size = fs.statSync(file).size;
      if (size === 0 || size % CIFAR_RECORD !== 0) {
        throw new DataError(`${archive}: ${CIFAR_DIR_NAME}/${f} has ${size} bytes, not a whole number of 3,073-byte records`);
      }
    }
    const marker: ArchiveSource = { ...archiveIdentity(archive), ...extra };
    fs.writeFileSync(path.join(unpacked, SOURCE_MARKER), JSON.stringify(marker, null, 2) + '\n');
    // Swap into place: the old folder (if any) is moved aside first, then removed.
    const dest = path.join(destRoot, CIFAR_DIR_NAME);
    const old = path.join(tmp, 'old');
    if (fs.existsSync(dest)) fs.renameSync(dest, old);
    fs.renameSync(unpacked, dest);
    return dest;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
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
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

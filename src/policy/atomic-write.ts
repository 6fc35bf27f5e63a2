import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';

/**
 * Replace a file so that a reader (the running server's reload) sees either the old or
 * the new content, never half of it: write a temp file beside it, flush it, rename it over,
 * then flush the directory so the rename itself survives a power cut. The temp name starts
 * with a dot, which the policy loader and watcher ignore.
 *
 * The replacement keeps the old file's owner, group and mode: an admin editing as root a
 * policy file owned by the service user (mode 0640) must not leave it owned by root, or the
 * service can no longer read its own policy. A symlink is written through: the file it points
 * to is replaced and the link stays.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const target = await fs.realpath(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return file;
    throw err;
  });
  const dir = path.dirname(target);
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const old = await fs.stat(target).catch(() => null);
  const mode = old ? old.mode & 0o7777 : 0o644;
  const handle = await fs.open(tmp, 'wx', mode);
  try {
    await handle.writeFile(text, 'utf8');
    // open() applies the umask; set the mode exactly.
    await handle.chmod(mode);
    if (old && (old.uid !== process.getuid?.() || old.gid !== process.getgid?.())) await keepOwner(handle, target, old.uid, old.gid);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dir);
}

async function keepOwner(handle: fs.FileHandle, file: string, uid: number, gid: number): Promise<void> {
  try {
    await handle.chown(uid, gid);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EACCES') throw err;
    // Replacing it anyway would hand the file to this user: refuse, and say who may edit it.
    throw new Error(`${file} is owned by uid ${uid}, gid ${gid}; editing it as uid ${process.getuid?.()} would change its owner: edit it as its owner or as root`);
  }
}

/** Make a rename in DIR durable. Some file systems cannot sync a directory; that is not an error. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | null = null;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  } finally {
    await handle?.close();
  }
}

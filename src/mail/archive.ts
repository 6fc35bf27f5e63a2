/**
 * Encrypted-archive detection from the first bytes of an attachment, without unpacking it.
 * Password-protected archives are how malware passes content scanners, so a mail filter
 * only needs to know that an entry is encrypted, not what is inside.
 */

const ZIP_LOCAL = 0x04034b50;
const ZIP_CENTRAL = 0x02014b50;
const MAX_ENTRIES = 2000;

/**
 * A zip whose local or central file headers (within `buf`, which may be only the start of
 * the archive) have general-purpose bit 0 (encrypted) set on any entry.
 */
export function zipHasEncryptedEntry(buf: Buffer): boolean {
  let pos = buf.indexOf('PK\x03\x04', 0, 'latin1');
  for (let n = 0; pos >= 0 && pos + 30 <= buf.length && n < MAX_ENTRIES; n++) {
    const flags = buf.readUInt16LE(pos + 6);
    if (flags & 1) return true;
    const csize = buf.readUInt32LE(pos + 18);
    const next = pos + 30 + buf.readUInt16LE(pos + 26) + buf.readUInt16LE(pos + 28) + csize;
    // With a data descriptor (bit 3) or zip64 the size is not in the header: look for the next signature.
    const known = !(flags & 8) && csize !== 0xffffffff && next + 4 <= buf.length && buf.readUInt32LE(next) === ZIP_LOCAL;
    pos = known ? next : buf.indexOf('PK\x03\x04', pos + 4, 'latin1');
  }
  // Small archives fit whole: the central directory repeats the flags.
  pos = buf.indexOf('PK\x01\x02', 0, 'latin1');
  for (let n = 0; pos >= 0 && pos + 46 <= buf.length && n < MAX_ENTRIES; n++) {
    if (buf.readUInt32LE(pos) === ZIP_CENTRAL && buf.readUInt16LE(pos + 8) & 1) return true;
    pos = buf.indexOf('PK\x01\x02', pos + 4, 'latin1');
  }
  return false;
}

/** Names kept per archive: enough for any real attachment, bounded for a crafted one. */
const MAX_NAMES = 200;

/**
 * File names inside a zip (lower-case, without folders), from the local headers within
 * `buf` and, when the archive fits, its central directory: attachment-name rules see
 * `invoice.pdf.exe` inside `invoice.zip` as they would see it attached directly.
 */
export function zipEntryNames(buf: Buffer): string[] {
  const names = new Set<string>();
  const add = (start: number, length: number): void => {
    if (length === 0 || start + length > buf.length) return;
    const full = buf.toString('latin1', start, start + Math.min(length, 1024)).toLowerCase();
    const base = full.slice(full.lastIndexOf('/') + 1);
    if (base) names.add(base);
  };
  let pos = buf.indexOf('PK\x03\x04', 0, 'latin1');
  for (let n = 0; pos >= 0 && pos + 30 <= buf.length && n < MAX_ENTRIES && names.size < MAX_NAMES; n++) {
    add(pos + 30, buf.readUInt16LE(pos + 26));
    pos = buf.indexOf('PK\x03\x04', pos + 4, 'latin1');
  }
  pos = buf.indexOf('PK\x01\x02', 0, 'latin1');
  for (let n = 0; pos >= 0 && pos + 46 <= buf.length && n < MAX_ENTRIES && names.size < MAX_NAMES; n++) {
    add(pos + 46, buf.readUInt16LE(pos + 28));
    pos = buf.indexOf('PK\x01\x02', pos + 4, 'latin1');
  }
  return [...names];
}

const RAR4 = Buffer.from('Rar!\x1a\x07\x00', 'latin1');
const RAR5 = Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1');

/** RAR with encrypted headers (v4 main-header flag or v5 encryption header) or an encrypted v4 file entry. */
export function rarIsEncrypted(buf: Buffer): boolean {
  if (buf.subarray(0, RAR5.length).equals(RAR5)) {
    // The first block after the signature: CRC32, header size (vint), header type (vint); 4 = archive encryption.
    let p = RAR5.length + 4;
    while (p < buf.length && (buf[p] ?? 0) & 0x80) p++;
    return buf[p + 1] === 4;
  }
  if (!buf.subarray(0, RAR4.length).equals(RAR4)) return false;
  let p = RAR4.length;
  for (let n = 0; p + 7 <= buf.length && n < MAX_ENTRIES; n++) {
    const type = buf[p + 2];
    const flags = buf.readUInt16LE(p + 3);
    const size = buf.readUInt16LE(p + 5);
    if (type === 0x73 && flags & 0x0080) return true; // MHD_PASSWORD: headers encrypted
    if (type === 0x74 && flags & 0x0004) return true; // LHD_PASSWORD: file encrypted
    const added = flags & 0x8000 && p + 11 <= buf.length ? buf.readUInt32LE(p + 7) : 0;
    if (size < 7) return false;
    p += size + added;
  }
  return false;
}

/** Whether an attachment may be an archive worth a look: by name, or a type that says so or says nothing. */
export function mayBeArchive(filename: string, contentType: string): boolean {
  return /\.(zip|rar|jar)$/i.test(filename) || /zip|rar|compressed|octet-stream/i.test(contentType);
}

export function archiveIsEncrypted(buf: Buffer): boolean {
  return zipHasEncryptedEntry(buf) || rarIsEncrypted(buf);
}

/** Byte counts of text as UTF-8, the unit of the API's stream offsets, without encoding it. */

/** How many bytes `text` takes as UTF-8 (a lone surrogate counts as the 3 bytes of U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * The index in `text` where its first `bytes` bytes (as UTF-8) end: the start of the first
 * character that is not wholly within them. `text.length` when the text is shorter.
 */
export function indexAfterBytes(text: string, bytes: number): number {
  let count = 0;
  let i = 0;
  while (i < text.length && count < bytes) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) count += 1;
    else if (unit < 0x800) count += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      count += 4;
      i += 1;
    } else count += 3;
    i += 1;
  }
  return i;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

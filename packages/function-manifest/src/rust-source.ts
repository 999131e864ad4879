/**
 * Rust source with comments removed and string and char literals emptied, so that a pattern
 * matched against it only sees code: a commented-out `#[ignite::main]`, or one inside a string,
 * does not count. A small lexer rather than regexes because block comments nest and `"/*"` in a
 * string must not open a comment.
 */
export function codeOnly(source: string): string {
  let out = '';
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i];
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      while (i < n && source[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      i = skipBlockComment(source, i);
      out += ' ';
    } else if (c === '"') {
      i = skipString(source, i + 1);
      out += '""';
    } else if (
      c === 'r' &&
      !isIdentifierChar(source[i - 1] === 'b' ? source[i - 2] : source[i - 1]) &&
      rawStringHashes(source, i + 1) >= 0
    ) {
      i = skipRawString(source, i + 1, rawStringHashes(source, i + 1));
      out += '""';
    } else if (c === "'" && charLiteralEnd(source, i) !== undefined) {
      i = charLiteralEnd(source, i) ?? n;
      out += "''";
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function isIdentifierChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_]/.test(c);
}

/** Index after a (possibly nested) block comment starting at `start`. */
function skipBlockComment(source: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < source.length) {
    if (source[i] === '/' && source[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (source[i] === '*' && source[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return i;
}

/** Index after the closing quote of a string whose content starts at `start`. */
function skipString(source: string, start: number): number {
  let i = start;
  while (i < source.length && source[i] !== '"') i += source[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** For `r###"`, the number of `#` (3) when `start` is just after the `r`; -1 when it is not a raw string. */
function rawStringHashes(source: string, start: number): number {
  let i = start;
  while (source[i] === '#') i++;
  return source[i] === '"' ? i - start : -1;
}

function skipRawString(source: string, start: number, hashes: number): number {
  const closing = `"${'#'.repeat(hashes)}`;
  const end = source.indexOf(closing, start + hashes + 1);
  return end === -1 ? source.length : end + closing.length;
}

/** `'a'`, `'\n'`, `'\u{1F600}'` are char literals (index after them); `'a` in `&'a str` is a lifetime (undefined). */
function charLiteralEnd(source: string, start: number): number | undefined {
  if (source[start + 1] === '\\') {
    const end = source.indexOf("'", start + 3);
    return end === -1 ? source.length : end + 1;
  }
  const codePoint = source.codePointAt(start + 1);
  const width = codePoint !== undefined && codePoint > 0xffff ? 2 : 1;
  return source[start + 1 + width] === "'" ? start + 2 + width : undefined;
}

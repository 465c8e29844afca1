/**
 * Wraps a plain-text e-mail body at `width` characters (RFC 3676's advice: under 78). Only ordinary
 * spaces break a line: links and words longer than the width stay whole on a line of their own, and a
 * non-breaking space keeps "w domu" together. The signature separator "-- " keeps its trailing space.
 */
export function wrapText(text: string, width: number): string {
  return text
    .split('\n')
    .map((line) => (line.length <= width || line === '-- ' ? line : wrapLine(line, width)))
    .join('\n');
}

function wrapLine(line: string, width: number): string {
  const out: string[] = [];
  let current = '';
  for (const word of line.split(' ')) {
    if (current === '') current = word;
    else if (current.length + 1 + word.length <= width) current += ` ${word}`;
    else {
      out.push(current);
      current = word;
    }
  }
  out.push(current);
  return out.join('\n');
}

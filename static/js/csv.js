// A small RFC 4180 CSV reader for the import page, run only in the browser.
//
// - fields separated by a comma (or by a semicolon when the header row has semicolons and no
//   comma, as spreadsheets in many locales save it);
// - records end with CRLF, LF or a lone CR; a line break at the very end adds no record;
// - a field in double quotes may hold the separator, line breaks and doubled quotes ("");
// - a byte order mark at the start is dropped;
// - a quote inside an unquoted field is kept as it is (lenient, as spreadsheets are);
// - text after a closing quote, or a quote that is never closed, is an error that names the
//   line, so a broken file is never half read.

export class CsvError extends Error {
  constructor(message, line) {
    super(message);
    this.name = "CsvError";
    this.line = line; // 1-based physical line where the problem is
  }
}

function detectSeparator(text) {
  let end = 0;
  let quoted = false;
  for (; end < text.length; end++) {
    const c = text[end];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === "\n" || c === "\r")) break;
  }
  const header = text.slice(0, end);
  return !header.includes(",") && header.includes(";") ? ";" : ",";
}

/**
 * Parse CSV text. Returns {rows, lines, separator}: rows is a list of records (lists of
 * strings), lines[i] the physical line on which record i starts. An empty line is a record
 * with one empty field (the caller decides to skip it).
 */
export function parseCsv(input, { separator = null } = {}) {
  let text = String(input);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const sep = separator ?? detectSeparator(text);
  const START = 0; // at the start of a field
  const PLAIN = 1; // in an unquoted field
  const QUOTED = 2; // inside quotes
  const CLOSED = 3; // just after the closing quote
  const rows = [];
  const lines = [];
  let row = [];
  let field = "";
  let state = START;
  let line = 1;
  let rowLine = 1;
  let quoteLine = 1;

  const endField = () => {
    row.push(field);
    field = "";
    state = START;
  };
  const endRecord = () => {
    endField();
    rows.push(row);
    lines.push(rowLine);
    row = [];
  };

  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const newline = c === "\n" || c === "\r";
    if (newline && c === "\r" && text[i + 1] === "\n") i += 1; // CRLF is one line break
    switch (state) {
      case QUOTED:
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 1;
          } else {
            state = CLOSED;
          }
        } else if (newline) {
          field += "\n"; // a line break inside quotes is kept, as LF whatever the file used
          line += 1;
        } else {
          field += c;
        }
        break;
      case START:
        if (c === '"') {
          state = QUOTED;
          quoteLine = line;
          break;
        }
      // falls through: anything else starts (or is) an unquoted field
      case PLAIN:
      case CLOSED:
        if (c === sep) {
          endField();
        } else if (newline) {
          endRecord();
          line += 1;
          rowLine = line;
        } else if (state === CLOSED) {
          throw new CsvError("text follows a closing quote", line);
        } else {
          field += c;
          state = PLAIN;
        }
        break;
      default:
        break;
    }
  }
  if (state === QUOTED) throw new CsvError("a quoted field is never closed", quoteLine);
  // A record still open at the end (no final line break), or a trailing separator.
  if (state !== START || field !== "" || row.length > 0) endRecord();
  return { rows, lines, separator: sep };
}

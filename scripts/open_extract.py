#!/usr/bin/env python3
"""Open a sealed Collateral research extract offline, without a server.

    .venv/bin/python scripts/open_extract.py data-XXXX.sealed --key collateral-key.json \
        --out extract.csv

The key file is the one the Research page offers ("Download your key file"): your private
key, still locked by your passphrase. The passphrase is asked for on the terminal (read from
standard input when that is not a terminal). A damaged, truncated or someone else's file is
refused and nothing is written. Same as `flask extract open`, for a researcher who has a
checkout of Collateral but no configured instance.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.crypto import CryptoError  # after the path is set
from app.research.opener import open_with_keyfile, read_keyfile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Open a sealed Collateral research extract.")
    parser.add_argument("sealed", type=Path, help="the sealed file (data or dictionary)")
    parser.add_argument("--key", type=Path, required=True, help="your key file")
    parser.add_argument("--out", type=Path, required=True, help="where to write the opened file")
    args = parser.parse_args(argv)
    passphrase = (getpass.getpass("Your Collateral passphrase: ") if sys.stdin.isatty()
                  else sys.stdin.readline().rstrip("\n"))
    try:
        plain = open_with_keyfile(args.sealed.read_bytes(), read_keyfile(args.key), passphrase)
    except OSError as exc:
        print(f"error: cannot read {args.sealed}: {exc.strerror}. Nothing was written.",
              file=sys.stderr)
        return 2
    except CryptoError as exc:
        print(f"error: {exc}. Nothing was written.", file=sys.stderr)
        return 1
    args.out.write_bytes(plain)
    print(f"Opened {args.sealed.name}: {len(plain):,} bytes written to {args.out}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

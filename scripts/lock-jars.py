#!/usr/bin/env python3
"""Write a jar lock file (``group:artifact:version sha256`` per line) from a pom.

    python scripts/lock-jars.py POM LOCK [--exclude GROUP:ARTIFACT ...]

Maven resolves the pom's runtime dependencies from Maven Central only (every
repository a pom names is mirrored to it), and each jar's SHA-256 is taken from
the local repository. ``--exclude`` leaves out jars that another class path
already provides (a Connect plugin leaves out Kafka's own). The header keeps the
lines that start the old lock file, so a lock says where it came from.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import tempfile
from pathlib import Path

SETTINGS = """<settings><mirrors><mirror><id>central-only</id><mirrorOf>*</mirrorOf>
<url>https://repo.maven.apache.org/maven2</url></mirror></mirrors></settings>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pom", type=Path)
    parser.add_argument("lock", type=Path)
    parser.add_argument("--exclude", action="append", default=[], metavar="GROUP:ARTIFACT")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        settings = Path(scratch) / "settings.xml"
        settings.write_text(SETTINGS)
        listing = Path(scratch) / "list.txt"
        subprocess.run(  # noqa: S603
            [  # noqa: S607 - Maven from the PATH, as a developer runs it
                "mvn",
                "-q",
                "-B",
                "-s",
                str(settings),
                "-f",
                str(options.pom),
                "dependency:list",
                "-DincludeScope=runtime",
                "-DoutputAbsoluteArtifactFilename=true",
                f"-DoutputFile={listing}",
            ],
            check=True,
        )
        lines = []
        for raw in listing.read_text().splitlines():
            parts = raw.strip().split(":")
            if len(parts) < 6 or parts[2] != "jar":
                continue
            group, artifact, _kind, version = parts[:4]
            if f"{group}:{artifact}" in options.exclude:
                continue
            jar = Path(":".join(parts[5:]))
            digest = hashlib.sha256(jar.read_bytes()).hexdigest()
            lines.append(f"{group}:{artifact}:{version} {digest}")
    old = options.lock.read_text().splitlines() if options.lock.exists() else []
    header = []
    for line in old:
        if not line.startswith("#"):
            break
        header.append(line)
    options.lock.write_text("\n".join([*header, *sorted(lines)]) + "\n")
    print(f"{options.lock}: {len(lines)} jars")


if __name__ == "__main__":
    main()

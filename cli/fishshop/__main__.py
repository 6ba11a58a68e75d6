import sys

from fishshop.cli import main

sys.exit(main())

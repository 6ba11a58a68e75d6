import sys

from fishshop.main import main

sys.exit(main())

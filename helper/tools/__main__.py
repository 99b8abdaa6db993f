import sys

from helper.tools.cli import main

sys.exit(main())

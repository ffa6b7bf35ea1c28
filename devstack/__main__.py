"""python -m devstack up"""

import sys

from devstack import up

if __name__ == "__main__":
    if sys.argv[1:] != ["up"]:
        sys.exit("usage: python -m devstack up")
    sys.exit(up.main())

"""python -m loyalty.generate --customers N --days D --seed S --out DIR [...]"""

from loyalty.generate.cli import main

raise SystemExit(main())

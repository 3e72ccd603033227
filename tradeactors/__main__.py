from tradeactors.cli import main

raise SystemExit(main())

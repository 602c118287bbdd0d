from medsegtext.cli import main

raise SystemExit(main())

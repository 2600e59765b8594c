from photolens.cli import main

raise SystemExit(main())

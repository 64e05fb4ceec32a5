from evolink_tui.cli import main

raise SystemExit(main())

from jupyter_service.cli import main

raise SystemExit(main())

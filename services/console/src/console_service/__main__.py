"""`python -m console_service [--host H] [--port P] [--workers N]`: serve the console.

The console holds none of the services' secrets (no master key, no API keys), so it is served
here rather than by `casetrail serve`, which in production insists on them."""

from console_service.entrypoints.main import main

main()

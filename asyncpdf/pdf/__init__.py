"""Everything that runs in pool workers: plain synchronous functions over plain data (no asyncio,
no aiohttp, no pydantic, no database). The service around it lives in `domain/`, `store/`,
`intake/`, `pipeline/`, `sending/`, `delivery/`, `notify/` and `web/`."""

"""The HTTP routes, one APIRouter per concern; `service.api.create_app` includes them all.

- `answers`: POST /ask, GET /search, GET /suggestions
- `papers`: GET /documents, GET /documents/{id}, GET /meetings
- `openai`: the OpenAI-compatible /v1/models and /v1/chat/completions
- `admin`: GET /healthz, POST /admin/reload

Routers share dependencies through `service.deps` and request checks through `service.validation`;
none imports another router or `service.api`.
"""

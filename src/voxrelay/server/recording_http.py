"""``GET /recordings/<id>.<format>``: a project's own recordings over HTTP(S), Basic auth."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from voxrelay.server.httputil import HTTPError, authenticate, node_of

MEDIA_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}


async def serve(request: Request) -> Response:
    principal = authenticate(request)
    name = request.path_params["name"]
    path = node_of(request).recordings.find(principal.project, name)
    if path is None:
        raise HTTPError(404, "no such recording")
    return FileResponse(path, media_type=MEDIA_TYPES[name.rsplit(".", 1)[1]])


routes = [Route("/recordings/{name}", serve, methods=["GET"])]

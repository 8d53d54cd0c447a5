"""The HTTP front end of anyseek (FastAPI): routes, auth, uploads, media by item id, index jobs, and the web
page's static files. It holds no search or indexing logic: every route calls the Engine facade."""

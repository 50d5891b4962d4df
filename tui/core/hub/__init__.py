"""The Hugging Face Hub layer: search, repo files by quant label, remote headers, downloads, local library.

Built on ``huggingface_hub`` (2.x) and free of any UI import. Modules, one job each:
``client`` (session, token, errors), ``search``, ``repo_listing`` (a repo's files at a commit),
``repo_files`` (files grouped by quant label), ``remote_header`` (GGUF headers over HTTP ranges,
cached on disk), ``badges`` (fit verdicts per label), ``download`` (resumable downloads into the
HF cache), ``model_ref`` (``OWNER/REPO:LABEL`` specs), ``library`` (models already on disk).
"""

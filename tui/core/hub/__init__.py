"""The Hugging Face Hub layer: search, repo files by quant label, remote headers, downloads, local library.

Built on ``huggingface_hub`` (2.x) and free of any UI import. Modules, one job each:
``client`` (session, token, headers), ``errors`` (Hub failures as one-line messages),
``search``, ``repo_listing`` (a repo's files at a commit), ``listing_cache`` (the last answers
on disk, for offline use), ``repo_files`` (files grouped by quant label), ``model_ref``
(``OWNER/REPO:LABEL`` specs), ``remote_header`` (GGUF headers over HTTP ranges, cached on disk),
``size_anatomy`` (a label sized from a sibling's header and its file size), ``badges`` (fit
verdicts per label), ``download`` (resumable, verified downloads into the HF cache),
``model_download`` (every shard of a spec, its projector, the cached copy offline) and
``library`` (models already on disk).
"""

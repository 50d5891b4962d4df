"""The Hugging Face Hub layer: search, repo files by quant label, remote headers, downloads, local library.

Built on ``huggingface_hub`` (2.x) and free of any UI import. Modules, one job each:
``client`` (session, token, headers), ``errors`` (Hub failures as one-line messages),
``search``, ``repo_listing`` (a repo's files at a commit), ``listing_cache`` (the last answers
on disk, for offline use), ``repo_files`` (files grouped by quant label), ``model_ref``
(``OWNER/REPO:LABEL`` specs), ``model_spec`` (the one resolver from what a person typed to a
model, local or on the Hub), ``remote_header`` (GGUF headers over HTTP ranges, cached on disk),
``size_anatomy`` (a label sized from a sibling's header and its file size), ``badges`` (fit
verdicts per label), ``download`` (resumable, verified downloads into the HF cache),
``model_spec`` (the one way a typed model name is opened, local or Hub, and ``ChosenModel``),
``model_download`` (the one way a model is downloaded: every shard, its projector, the cached
copy offline) and ``library`` (models already on disk).
"""

"""``promorules serve``: pricing over HTTP, a page for planners, rulesets reloaded live.

:mod:`~promorules.serve.app` holds the routes, :mod:`~promorules.serve.openapi` their
document, :mod:`~promorules.serve.watch` the file watcher; the engines are held by
:class:`promorules.holder.EngineHolder`, the same swap a Python embedder uses.
"""

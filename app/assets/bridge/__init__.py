"""The only modules that import webassets: its filter chain (``filters``, ``bundle``)
and Flask-Assets' ``{% assets %}`` tag (``tag``). Import the submodule you need: a
production server only loads ``tag``."""

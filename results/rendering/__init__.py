"""The documents: report and findings report as Markdown and HTML, the inspection pages,
and the report folder they are written into. The last room: imports the other three."""

"""Residents' needs (居民点单 → 社区派单 → 社会组织接单 → 群众评单), issue 21, docs/needs.md.

Grids (网格) under communities, their grid workers, the needs they record or screen from residents, the
officers' dispatch of needs into tenders, contracts or a reasoned decline, and the loop closed when a
contract's service is delivered in the need's community.
"""

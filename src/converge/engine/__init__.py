"""converge.engine"""

"""converge.config"""

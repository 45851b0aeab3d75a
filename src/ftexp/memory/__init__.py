"""Will a run fit? Its peak memory per device, estimated before the weights load."""

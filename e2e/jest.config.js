module.exports = {
  ...require('../jest.preset.js'),
  displayName: 'e2e',
  rootDir: __dirname,
  // Whole-system journeys: each file starts the devstack; run them one at a time on 2 cores.
  maxWorkers: 1,
  testTimeout: 90_000,
};

namespace Zeroshot.Agents;

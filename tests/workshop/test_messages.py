"""Exact feedback for hand-written wrong answers to every exercise (retainkit.workshop.check).

Each row is a wrong answer a learner might type, written out by hand (not read from the
checker's catalogue), and the complete text the learner sees. Known mistakes are named
only conditionally ("If you ..."); when two mistakes give the same number both are named
(01.4: (7 - 2) / 10 is both "everyone who ever bought as S" and the identity CRR); values
are quoted as typed, never rescaled; near misses say "Close: check the rounding".
"""

from __future__ import annotations

import pytest

from retainkit import workshop

MESSAGES = [
    (
        "01.1",
        "(450 - 50) / 450",
        "✘ Exercise 01.1: not right yet. 0.888889 is not it.\n  Hint: If you divided by E (the customers "
        "at the end): CRR divides by S, the customers you started with. The question is what share of "
        "THEM you kept.",
    ),
    (
        "01.1",
        "450 / 500",
        "✘ Exercise 01.1: not right yet. 0.9 is not it.\n  Hint: If you divided E by S without subtracting"
        " N: the new customers were not there at the start, so they cannot have been retained.",
    ),
    (
        "01.1",
        "0.2",
        "✘ Exercise 01.1: not right yet. 0.2 is not it.\n  Hint: If you divided the lost customers by S: "
        "that is the churn rate. Retention is the other part.",
    ),
    (
        "01.1",
        "(500 - 100 - 50) / 500",
        "✘ Exercise 01.1: not right yet. 0.7 is not it.\n  Hint: If you took E as S - lost, then "
        "subtracted N again: E already includes the new customers (E = S - lost + N).",
    ),
    (
        "01.1",
        "400",
        "✘ Exercise 01.1: not right yet. 400 is not it.\n  Hint: If you stopped at E - N: that is the "
        "number of retained customers, not yet a rate.",
    ),
    (
        "01.1",
        "0.79",
        "✘ Exercise 01.1: not right yet. 0.79 is not it.\n  Hint: Write down E first: who is there at the "
        'end of the period? For the next hint: workshop.hint("01.1", 2).',
    ),
    (
        "01.1",
        "0.5",
        "✘ Exercise 01.1: not right yet. 0.5 is not it.\n  Hint: Write down E first: who is there at the "
        'end of the period? For the next hint: workshop.hint("01.1", 2).',
    ),
    (
        "01.2",
        "0.8",
        "✘ Exercise 01.2: not right yet. 0.8 is not it.\n  Hint: If you computed (E - N) / S again: that "
        "is the retention rate; churn is the share lost.",
    ),
    (
        "01.2",
        "100 / 450",
        "✘ Exercise 01.2: not right yet. 0.222222 is not it.\n  Hint: If you divided the lost customers by"
        " E: churn, like retention, is measured against S.",
    ),
    (
        "01.2",
        "100",
        "✘ Exercise 01.2: not right yet. 100 is not it.\n  Hint: If you gave the number lost: the churn "
        "RATE divides it by the customers at the start.",
    ),
    (
        "01.3",
        "(8, 7, 3)",
        "✘ Exercise 01.3: not right yet. [8, 7, 3] is not it.\n  Hint: If you counted everyone in E who "
        "was not in S as new: a customer who bought before (in 2022) and comes back after a break is "
        "reactivated, not new. New = first-ever purchase in Q2.",
    ),
    (
        "01.3",
        "(7, 8, 2)",
        "✘ Exercise 01.3: not right yet. [7, 8, 2] is not it.\n  Hint: If you listed E first: the order "
        "asked for is (S, E, N).",
    ),
    (
        "01.3",
        "(5, 8, 5)",
        "✘ Exercise 01.3: not right yet. [5, 8, 5] is not it.\n  Hint: If you counted for Q1 2023 (January"
        " - March): the question asks about Q2 2023 (April - June), S at 1 April and E at 1 July.",
    ),
    (
        "01.3",
        "(10, 7, 2)",
        "✘ Exercise 01.3: not right yet. [10, 7, 2] is not it.\n  Hint: If you counted everyone who ever "
        "bought before 1 April as S: S holds only those active in the 90-day window before 1 April.",
    ),
    (
        "01.3",
        "(9, 7, 2)",
        "✘ Exercise 01.3: not right yet. [9, 7, 2] is not it.\n  Hint: S is off. If you counted more than "
        "the Q1 buyers: S = everyone who bought in the 90 days before 1 April 2023, whether or not they "
        "bought again.",
    ),
    (
        "01.3",
        "(8, 6, 2)",
        "✘ Exercise 01.3: not right yet. [8, 6, 2] is not it.\n  Hint: E is off. If you left out some Q2 "
        "buyers: E = everyone who bought in the 90 days before 1 July 2023 (returning, reactivated and "
        "new alike).",
    ),
    (
        "01.3",
        "(8, 7)",
        "✘ Exercise 01.3: not right yet. Expected 3 numbers (S, E, N), got 2.\n  Hint: S is counted at 1 "
        "April, E at 1 July, each with the 90-day window before that day. For the next hint: "
        'workshop.hint("01.3", 2).',
    ),
    (
        "01.3",
        "(9, 6, 2)",
        "✘ Exercise 01.3: not right yet. [9, 6, 2] is not it.\n  Hint: Off: S, E. S is counted at 1 April,"
        " E at 1 July, each with the 90-day window before that day. For the next hint: "
        'workshop.hint("01.3", 2).',
    ),
    (
        "01.4",
        "(7 - 2) / 10",
        "✘ Exercise 01.4: not right yet. 0.5 is not it.\n  Hint: More than one known mistake gives this "
        "answer. If you counted the retained customers one by one (in S and in E) and divided by S: that "
        "is the identity CRR of exercise 01.5. Here plug the three counts into (E - N) / S. If you used "
        "everyone who ever bought before 1 April as S: S is only who was active in the 90 days before 1 "
        "April.",
    ),
    (
        "01.4",
        "(7 - 2) / 7",
        "✘ Exercise 01.4: not right yet. 0.714286 is not it.\n  Hint: If you divided by E: the count "
        "formula divides by S.",
    ),
    (
        "01.4",
        "7 / 8",
        "✘ Exercise 01.4: not right yet. 0.875 is not it.\n  Hint: If you did not subtract the new "
        "customers N before dividing: they were not there to be kept.",
    ),
    (
        "01.4",
        "0.62",
        "✘ Exercise 01.4: not right yet. 0.62 is not it.\n  Hint: Close: check the rounding (give at least"
        " the decimals the question asks for, or the unrounded number).",
    ),
    (
        "01.5",
        "(7 - 2) / 8",
        "✘ Exercise 01.5: not right yet. 0.625 is not it.\n  Hint: If you used (E - N) / S: that is the "
        "count formula. It treats everybody in E who is not new as retained, including a customer who "
        "came back after a break (not in S).",
    ),
    (
        "01.5",
        "4 / 7",
        "✘ Exercise 01.5: not right yet. 0.571429 is not it.\n  Hint: If you divided the retained "
        "customers by E: divide by S, the customers at the start.",
    ),
    (
        "01.5",
        "4",
        "✘ Exercise 01.5: not right yet. 4 is not it.\n  Hint: If you gave the number retained: divide it "
        "by S for the rate.",
    ),
    (
        "01.6",
        "['Hana', 'Ivo']",
        "✘ Exercise 01.6: not right yet. ['hana', 'ivo'] is not it.\n  Hint: If you listed the new "
        "customers: the count formula already subtracts them (N), so they do not make the two figures "
        "differ.",
    ),
    (
        "01.6",
        "['Gus', 'Hana', 'Ivo']",
        "✘ Exercise 01.6: not right yet. ['gus', 'hana', 'ivo'] is not it.\n  Hint: If you listed everyone"
        " in E who is not in S: the new customers are already subtracted as N; keep only who is in E, not"
        " in S and not new.",
    ),
    (
        "01.6",
        "['Finn', 'Dan', 'Eva', 'Lea']",
        "✘ Exercise 01.6: not right yet. ['dan', 'eva', 'finn', 'lea'] is not it.\n  Hint: If you listed "
        "who is in S but not in E: those are the lost customers. Look at who is in E instead.",
    ),
    (
        "01.6",
        "['Gus', 'Ana']",
        "✘ Exercise 01.6: not right yet. ['ana', 'gus'] is not it.\n  Hint: Some of those are right, but "
        "not all. The count formula calls everyone in E who is not new 'retained'. Is everyone it calls "
        'retained in S? For the next hint: workshop.hint("01.6", 2).',
    ),
    (
        "01.7",
        "4 / 8",
        "✘ Exercise 01.7: not right yet. 0.5 is not it.\n  Hint: More than one known mistake gives this "
        "answer. If you got the same CRR as before: Eva's move changes who is in S (she no longer bought "
        "in the 90 days before 1 April). Recount S. If you kept S at its old size: Eva is no longer in S."
        " If you divided by E: divide by S.",
    ),
    (
        "01.7",
        "5 / 7",
        "✘ Exercise 01.7: not right yet. 0.714286 is not it.\n  Hint: More than one known mistake gives "
        "this answer. If you used (E - N) / S: the question asks for the identity CRR (retained / S). If "
        "you counted Eva as retained: she was not a customer on 1 April, so she is new in Q2.",
    ),
    (
        "01.7",
        "4 / 8 * 100",
        "✘ Exercise 01.7: not right yet. 50 is not it.\n  Hint: More than one known mistake gives this "
        "answer. If you got the same CRR as before: Eva's move changes who is in S (she no longer bought "
        "in the 90 days before 1 April). Recount S. If you kept S at its old size: Eva is no longer in S."
        " If you divided by E: divide by S.",
    ),
    (
        "01.7",
        "4 / 6",
        "✘ Exercise 01.7: not right yet. 0.666667 is not it.\n  Hint: Who moves in or out of S, E and N "
        'when one purchase moves across 1 April? For the next hint: workshop.hint("01.7", 2).',
    ),
    (
        "02.1",
        "6",
        "✘ Exercise 02.1: not right yet. 6 is not it.\n  Hint: If you counted everyone who bought in "
        "February: the February cohort is only those whose FIRST purchase was in February.",
    ),
    (
        "02.1",
        "5",
        "✘ Exercise 02.1: not right yet. 5 is not it.\n  Hint: If you counted the customers who first "
        "bought in January: that is the January cohort.",
    ),
    (
        "02.1",
        "3",
        "✘ Exercise 02.1: not right yet. 3 is not it.\n  Hint: A customer belongs to one cohort only. "
        'Which month decides it? For the next hint: workshop.hint("02.1", 2).',
    ),
    (
        "02.2",
        "2",
        "✘ Exercise 02.2: not right yet. 2 is not it.\n  Hint: If you gave the number of January customers"
        " active in March: retention divides it by the cohort size n_c.",
    ),
    (
        "02.2",
        "0.6",
        "✘ Exercise 02.2: not right yet. 0.6 is not it.\n  Hint: If you counted January customers who "
        "bought in March OR LATER: that is unbounded retention. Classic retention counts purchases AT age"
        " 2 only.",
    ),
    (
        "02.2",
        "2 / 3",
        "✘ Exercise 02.2: not right yet. 0.666667 is not it.\n  Hint: Two numbers: how many January "
        "customers bought in March, and how many January customers there are. For the next hint: "
        'workshop.hint("02.2", 2).',
    ),
    (
        "02.2",
        "0.3",
        "✘ Exercise 02.2: not right yet. 0.3 is not it.\n  Hint: Two numbers: how many January customers "
        "bought in March, and how many January customers there are. For the next hint: "
        'workshop.hint("02.2", 2).',
    ),
    (
        "02.4",
        "0.4",
        "✘ Exercise 02.4: not right yet. 0.4 is not it.\n  Hint: If you counted only purchases in "
        "February: that is classic retention. Unbounded also counts customers who came back later.",
    ),
    (
        "02.4",
        "0.7",
        "✘ Exercise 02.4: not right yet. 0.7 is not it.\n  Hint: Unbounded: active at age 1 or at any "
        'later observed age. For the next hint: workshop.hint("02.4", 2).',
    ),
    (
        "02.5",
        "0.4444444444444444",
        "✘ Exercise 02.5: not right yet. 0.444444 is not it.\n  Hint: Which cohorts have reached age 2 by "
        '31 May? For the next hint: workshop.hint("02.5", 2).',
    ),
    (
        "02.5",
        "0.51",
        "✘ Exercise 02.5: not right yet. 0.51 is not it.\n  Hint: Which cohorts have reached age 2 by 31 "
        'May? For the next hint: workshop.hint("02.5", 2).',
    ),
    (
        "02.6",
        "'zero'",
        "✘ Exercise 02.6: not right yet. 'zero' is not it.\n  Hint: If you read the empty cell as 0: June "
        "has not happened yet in this data, so nobody could have bought then. Unobserved is unknown "
        "(NaN), not zero.",
    ),
    (
        "02.6",
        "0",
        "✘ Exercise 02.6: not right yet. 0 is not it.\n  Hint: If you read the empty cell as 0: June has "
        "not happened yet in this data, so nobody could have bought then. Unobserved is unknown (NaN), "
        "not zero.",
    ),
    (
        "02.6",
        "'maybe'",
        "✘ Exercise 02.6: not right yet. 'maybe' is not it.\n  Hint: Could anyone have bought in June 2023"
        ' in this data? For the next hint: workshop.hint("02.6", 2).',
    ),
    (
        "02.7",
        "0.4",
        "✘ Exercise 02.7: not right yet. 0.4 is not it.\n  Hint: If you took the plain mean of the four "
        "cohorts' rates: each cohort counts once however big it is. Weight by size.",
    ),
    (
        "02.7",
        "0.1",
        "✘ Exercise 02.7: not right yet. 0.1 is not it.\n  Hint: If you gave the March cohort's rate: the "
        "question asks for all observed cohorts together.",
    ),
    (
        "02.7",
        "120 / 760",
        "✘ Exercise 02.7: not right yet. 0.157895 is not it.\n  Hint: If you included the May cohort: its "
        "age 1 (June) is not observed yet.",
    ),
    (
        "02.7",
        "17",
        "✘ Exercise 02.7: not right yet. 17 is not it.\n  Hint: Close: check the rounding (give at least "
        "the decimals the question asks for, or the unrounded number).",
    ),
    (
        "03.1",
        "0.7",
        "✘ Exercise 03.1: not right yet. 0.7 is not it.\n  Hint: If you computed S(1) / S(0): that is the "
        "rate of period 1. By period 2 the high-churn half has shrunk; compute S(2) / S(1).",
    ),
    (
        "03.1",
        "0.53",
        "✘ Exercise 03.1: not right yet. 0.53 is not it.\n  Hint: If you computed S(2): that is the share "
        "left after two periods. The retention RATE of period 2 is S(2) / S(1).",
    ),
    (
        "03.1",
        "0.75",
        "✘ Exercise 03.1: not right yet. 0.75 is not it.\n  Hint: Close: check the rounding (give at least"
        " the decimals the question asks for, or the unrounded number).",
    ),
    (
        "03.1",
        "0.8",
        "✘ Exercise 03.1: not right yet. 0.8 is not it.\n  Hint: Who is left after one period? Work out "
        'each type\'s share of the survivors. For the next hint: workshop.hint("03.1", 2).',
    ),
    (
        "03.2",
        "(1.182, 0.704)",
        "✘ Exercise 03.2: not right yet. [1.182, 0.704] is not it.\n  Hint: If you wrote (beta, alpha): "
        "the order asked for is (alpha, beta).",
    ),
    (
        "03.2",
        "(0.7, 1.2)",
        "✘ Exercise 03.2: not right yet. [0.7, 1.2] is not it.\n  Hint: Close: check the rounding (give at"
        " least the decimals the question asks for, or the unrounded number).",
    ),
    (
        "03.2",
        "{'alpha': 0.704}",
        "✘ Exercise 03.2: not right yet. Your answer has the wrong form: a dict answer needs the keys "
        "['alpha', 'beta'].\n  Hint: Do exactly what was done for the High End cohort above, with the "
        'Regular counts. For the next hint: workshop.hint("03.2", 2).',
    ),
    (
        "03.3",
        "173",
        "✘ Exercise 03.3: not right yet. 173 is not it.\n  Hint: If you gave the actual year-12 count: it "
        "was kept back. The question asks what the model projects from years 0-7.",
    ),
    (
        "03.3",
        "241 * (241 / 262) ** 5",
        "✘ Exercise 03.3: not right yet. 158.707 is not it.\n  Hint: If you kept the last observed rate "
        "constant: that is the naive projection of 03.4.",
    ),
    (
        "03.3",
        "0.17",
        "✘ Exercise 03.3: not right yet. 0.17 is not it.\n  Hint: If you gave S(12): that is a share; "
        "multiply by the cohort size for customers.",
    ),
    (
        "03.3",
        "168",
        "✘ Exercise 03.3: not right yet. 168 is not it.\n  Hint: Close: check the rounding (give at least "
        "the decimals the question asks for, or the unrounded number).",
    ),
    (
        "03.4",
        "241 * (241 / 262) ** 6",
        "✘ Exercise 03.4: not right yet. 145.986 is not it.\n  Hint: If you applied the rate 6 times: from"
        " year 7 to year 12 are 5 steps.",
    ),
    (
        "03.4",
        "170.04",
        "✘ Exercise 03.4: not right yet. 170.04 is not it.\n  Hint: If you gave the sBG projection: here "
        "keep the last rate constant instead.",
    ),
    (
        "03.5",
        "'a'",
        "✘ Exercise 03.5: not right yet. 'a' is not it.\n  Hint: If you read it as growing loyalty: in the"
        " sBG every customer keeps the same churn probability forever. What changes is the mix of who is "
        "left.",
    ),
    (
        "03.5",
        "'c'",
        "✘ Exercise 03.5: not right yet. 'c' is not it.\n  Hint: If you suspect a bug: 03.1 gives the same"
        " rise with two types that never change.",
    ),
    (
        "04.1",
        "100 / 0.2",
        "✘ Exercise 04.1: not right yet. 500 is not it.\n  Hint: If you multiplied the margin by the "
        "expected lifetime 1 / (1 - r): that leaves out discounting and pays a first margin for sure. "
        "Here each margin arrives at the END of a year the customer is still there, discounted.",
    ),
    (
        "04.1",
        "100 * 1.1 / 0.3",
        "✘ Exercise 04.1: not right yet. 366.667 is not it.\n  Hint: If you paid the first margin at once "
        "(the 'start' timing): the question pays at the end of each year.",
    ),
    (
        "04.1",
        "100 * 0.8 / 0.2",
        "✘ Exercise 04.1: not right yet. 400 is not it.\n  Hint: If you left out the discounting: money "
        "one year ahead is worth 1 / (1 + d) today.",
    ),
    (
        "04.1",
        "100 / 0.3",
        "✘ Exercise 04.1: not right yet. 333.333 is not it.\n  Hint: If you counted the first year's "
        "margin for sure: it comes only if the customer is still there after one year (probability r).",
    ),
    (
        "04.1",
        "266",
        "✘ Exercise 04.1: not right yet. 266 is not it.\n  Hint: Close: check the rounding (give at least "
        "the decimals the question asks for, or the unrounded number).",
    ),
    (
        "04.2",
        "0.0625",
        "✘ Exercise 04.2: not right yet. 0.0625 is not it.\n  Hint: If you computed 0.85 / 0.80 - 1: that "
        "is how much retention rose. Compare the two CLVs instead.",
    ),
    (
        "04.2",
        "1.275",
        "✘ Exercise 04.2: not right yet. 1.275 is not it.\n  Hint: If you gave the ratio of the two CLVs: "
        "subtract 1 for the rise.",
    ),
    (
        "04.2",
        "0.3",
        "✘ Exercise 04.2: not right yet. 0.3 is not it.\n  Hint: Compute the CLV again with r = 0.85. For "
        'the next hint: workshop.hint("04.2", 2).',
    ),
    (
        "04.3",
        "34.31",
        "✘ Exercise 04.3: not right yet. 34.31 is not it.\n  Hint: If you gave the rise in money per "
        "customer: the question asks for it as a percent of the NPV before.",
    ),
    (
        "04.3",
        "145.08",
        "✘ Exercise 04.3: not right yet. 145.08 is not it.\n  Hint: If you gave NPV after / NPV before x "
        "100: subtract 100 for the rise.",
    ),
    (
        "04.3",
        "45",
        "✘ Exercise 04.3: not right yet. 45 is not it.\n  Hint: Close: check the rounding (give at least "
        "the decimals the question asks for, or the unrounded number).",
    ),
    (
        "04.3",
        "0.45",
        "✘ Exercise 04.3: not right yet. 0.45 is not it.\n  Hint: Close: check the rounding (give at least"
        " the decimals the question asks for, or the unrounded number).",
    ),
    (
        "04.4",
        "45.1",
        "✘ Exercise 04.4: not right yet. 45.1 is not it.\n  Hint: If you got 04.3's figure again: change "
        "retention and margin_growth.",
    ),
    (
        "04.4",
        "11.1",
        "✘ Exercise 04.4: not right yet. 11.1 is not it.\n  Hint: More than one known mistake gives this "
        "answer. If you left out year 0: the claim's percent is measured on the NPV after paying the "
        "acquisition cost (year 0 in the table). If you set acquisition_cost=0: keep the default "
        "acquisition cost of 50 here; the next exercises come back to it.",
    ),
    (
        "04.4",
        "66",
        "✘ Exercise 04.4: not right yet. 66 is not it.\n  Hint: Close: check the rounding (give at least "
        "the decimals the question asks for, or the unrounded number).",
    ),
    (
        "04.6",
        "45.08",
        "✘ Exercise 04.6: not right yet. 45.08 is not it.\n  Hint: If you got 04.3's figure: that is the "
        "free lift; here keeping a customer costs 10.",
    ),
    (
        "04.6",
        "40",
        "✘ Exercise 04.6: not right yet. 40 is not it.\n  Hint: Only one argument changes compared with "
        '04.3. For the next hint: workshop.hint("04.6", 2).',
    ),
    (
        "04.5",
        "66.65",
        "✘ Exercise 04.5: not right yet. 66.65 is not it.\n  Hint: If you got 04.4's figure: set acquisition_cost=0.",
    ),
    (
        "04.5",
        "11",
        "✘ Exercise 04.5: not right yet. 11 is not it.\n  Hint: Close: check the rounding (give at least "
        "the decimals the question asks for, or the unrounded number).",
    ),
    (
        "05.1",
        "0.01",
        "✘ Exercise 05.1: not right yet. 0.01 is not it.\n  Hint: If you left out breakage: a quarter of "
        "the points are never redeemed, so they cost nothing.",
    ),
    (
        "05.1",
        "0.0025",
        "✘ Exercise 05.1: not right yet. 0.0025 is not it.\n  Hint: If you multiplied by breakage: "
        "breakage is the share NOT redeemed; the cost comes from the rest.",
    ),
    (
        "05.2",
        "0.1",
        "✘ Exercise 05.2: not right yet. 0.1 is not it.\n  Hint: If you gave the top rate: only spend past"
        " the top threshold earns it, and few members get there.",
    ),
    (
        "05.2",
        "0.02",
        "✘ Exercise 05.2: not right yet. 0.02 is not it.\n  Hint: Close: check the rounding (give at least"
        " the decimals the question asks for, or the unrounded number).",
    ),
    (
        "05.3",
        "105138.47",
        "✘ Exercise 05.3: not right yet. 105138.47 is not it.\n  Hint: If you gave profit minus cost in "
        "money: ROI divides it by the programme cost.",
    ),
    (
        "05.3",
        "2.12",
        "✘ Exercise 05.3: not right yet. 2.12 is not it.\n  Hint: If you divided profit by cost: ROI is "
        "(profit - cost) / cost.",
    ),
    (
        "05.3",
        "1.1",
        "✘ Exercise 05.3: not right yet. 1.1 is not it.\n  Hint: ROI compares what the programme returns "
        'with what it costs. For the next hint: workshop.hint("05.3", 2).',
    ),
    (
        "05.4",
        "0.0063",
        "✘ Exercise 05.4: not right yet. 0.0063 is not it.\n  Hint: If you got the preset's break-even "
        "lift: change breakage to 0.4.",
    ),
    (
        "05.4",
        "0.02",
        "✘ Exercise 05.4: not right yet. 0.02 is not it.\n  Hint: If you gave the preset's assumed lift: "
        "the break-even lift is where the NPV crosses 0.",
    ),
    (
        "05.4",
        "0.01",
        "✘ Exercise 05.4: not right yet. 0.01 is not it.\n  Hint: Close: check the rounding (give at least"
        " the decimals the question asks for, or the unrounded number).",
    ),
    (
        "05.5",
        "0.1984",
        "✘ Exercise 05.5: not right yet. 0.1984 is not it.\n  Hint: If you gave the naive gap itself: "
        "subtract the true lift (5 points).",
    ),
    (
        "05.5",
        "-0.1484",
        "✘ Exercise 05.5: not right yet. -0.1484 is not it.\n  Hint: If you subtracted the gap from the "
        "truth: the sign is gap minus truth.",
    ),
    (
        "05.5",
        "0.15",
        "✘ Exercise 05.5: not right yet. 0.15 is not it.\n  Hint: Close: check the rounding (give at least"
        " the decimals the question asks for, or the unrounded number).",
    ),
    (
        "05.6",
        "'a'",
        "✘ Exercise 05.6: not right yet. 'a' is not it.\n  Hint: If you think the programme works better: "
        "the true lift is known, 5 points by construction. The gap is bigger for another reason.",
    ),
    (
        "05.6",
        "'c'",
        "✘ Exercise 05.6: not right yet. 'c' is not it.\n  Hint: If you suspect the bootstrap: more "
        "resamples narrow the interval; they do not move the naive gap.",
    ),
    (
        "05.7",
        "0.1",
        "✘ Exercise 05.7: not right yet. 0.1 is not it.\n  Hint: Four numbers: each group's mean active "
        'share in the baseline window and in the post window. For the next hint: workshop.hint("05.7", '
        "2).",
    ),
    (
        "06.1",
        "'injected-parameters'",
        "✘ Exercise 06.1: not right yet. 'injected-parameters' is not it.\n  Hint: If you named the tag of"
        " the cell papermill ADDS with the values you pass: the defaults live in the cell you tag "
        "yourself.",
    ),
    (
        "06.1",
        "'tags'",
        "✘ Exercise 06.1: not right yet. 'tags' is not it.\n  Hint: Open the cell's tags (the gear icon in"
        " JupyterLab's right sidebar) of this notebook's first code cell. For the next hint: "
        'workshop.hint("06.1", 2).',
    ),
    (
        "06.2",
        "0.8",
        "✘ Exercise 06.2: not right yet. 0.8 is not it.\n  Hint: If you read the result of the default "
        "run: pass the parameters so papermill injects them, then read result.json again.",
    ),
    (
        "06.2",
        "(110 - 20) / 110",
        "✘ Exercise 06.2: not right yet. 0.818182 is not it.\n  Hint: pm.execute_notebook takes a "
        'parameters= dictionary. For the next hint: workshop.hint("06.2", 2).',
    ),
    (
        "06.3",
        "'6 0 * * 1'",
        "✘ Exercise 06.3: not right yet. '6 0 * * 1' is not it.\n  Hint: If you wrote the hour first: the "
        "minute comes first, then the hour.",
    ),
    (
        "06.3",
        "'0 6 * * 0'",
        "✘ Exercise 06.3: not right yet. '0 6 * * 0' is not it.\n  Hint: If you used 0 for Monday: day-of-"
        "week 0 is Sunday; Monday is 1.",
    ),
    (
        "06.3",
        "'0 6 1 * *'",
        "✘ Exercise 06.3: not right yet. '0 6 1 * *' is not it.\n  Hint: If you put the weekday in the "
        "third field: that is the day of the MONTH; the weekday is the fifth.",
    ),
    (
        "06.3",
        "'* 6 * * 1'",
        "✘ Exercise 06.3: not right yet. '* 6 * * 1' is not it.\n  Hint: If you left the minute as '*': "
        "that runs every minute from 06:00 to 06:59.",
    ),
    (
        "06.3",
        "'0 6 * *'",
        "✘ Exercise 06.3: not right yet. Your answer has the wrong form: a cron schedule has 5 fields "
        "(minute hour day-of-month month day-of-week); got 4.\n  Hint: The five fields are: minute, hour, "
        'day of the month, month, day of the week. For the next hint: workshop.hint("06.3", 2).',
    ),
    (
        "06.4",
        "'2024-07-01'",
        "✘ Exercise 06.4: not right yet. 2024-07-01 is not it.\n  Hint: If you used the run date: 1 July "
        "is in July, a month that has just begun, so its data are partial. Report up to the end of June.",
    ),
    (
        "06.4",
        "'2024-06-01'",
        "✘ Exercise 06.4: not right yet. 2024-06-01 is not it.\n  Hint: If you gave the first day of June:"
        " as_of is the END of the period described (the whole of 30 June).",
    ),
    (
        "06.4",
        "'2024-07-31'",
        "✘ Exercise 06.4: not right yet. 2024-07-31 is not it.\n  Hint: Which month is the last one that "
        'has fully happened at 06:00 on 1 July? For the next hint: workshop.hint("06.4", 2).',
    ),
    (
        "07.1",
        "0.2",
        "✘ Exercise 07.1: not right yet. 0.2 is not it.\n  Hint: Build the monthly cohort table of the "
        'CDNOW log, as in notebook 02. For the next hint: workshop.hint("07.1", 2).',
    ),
    (
        "07.1",
        "0.15",
        "✘ Exercise 07.1: not right yet. 0.15 is not it.\n  Hint: Close: check the rounding (give at least"
        " the decimals the question asks for, or the unrounded number).",
    ),
    (
        "07.2",
        "0.788",
        "✘ Exercise 07.2: not right yet. 0.788 is not it.\n  Hint: If you used (E - N) / S: it counts the "
        "customers who came back after a break as retained. The question asks for the identity CRR.",
    ),
    (
        "07.2",
        "0.3088",
        "✘ Exercise 07.2: not right yet. 0.3088 is not it.\n  Hint: If you used a 180-day window: the "
        "question fixes 90 days.",
    ),
    (
        "07.2",
        "0.2258",
        "✘ Exercise 07.2: not right yet. 0.2258 is not it.\n  Hint: If you read 1997-Q2: the question is "
        "about 1997-Q3 (July - September).",
    ),
    (
        "07.2",
        "0.42",
        "✘ Exercise 07.2: not right yet. 0.42 is not it.\n  Hint: Close: check the rounding (give at least"
        " the decimals the question asks for, or the unrounded number).",
    ),
    (
        "07.3",
        "'b'",
        "✘ Exercise 07.3: not right yet. 'b' is not it.\n  Hint: If you thought of new customers: the log "
        "holds only customers who first bought in Q1 1997, so N = 0 afterwards (see the column new).",
    ),
    (
        "07.3",
        "'c'",
        "✘ Exercise 07.3: not right yet. 'c' is not it.\n  Hint: If you suspected the window: "
        "window_covered is True from 1997-Q2 on. The gap comes from customers in E who were not in S.",
    ),
    (
        "07.4",
        "'yes'",
        "✘ Exercise 07.4: not right yet. 'yes' is not it.\n  Hint: If you would report it: window_covered "
        "is False (the window at 1 April reaches back before the log begins) and E at 1 July still "
        "contains most first purchases of February and March. The figure measures the window, not "
        "loyalty.",
    ),
]


@pytest.mark.parametrize("eid, answer, expected", MESSAGES, ids=[f"{m[0]}:{m[1]}" for m in MESSAGES])
def test_wrong_answer_gets_exactly_this_feedback(eid, answer, expected):
    res = workshop.check(eid, eval(answer))  # noqa: S307 - the answers are literals written in this file
    assert res.status == "wrong"
    assert str(res) == expected


def test_every_exercise_has_a_hand_written_wrong_answer():
    # 02.3 (a table) has its exact messages in test_checking.py
    assert {m[0] for m in MESSAGES} == set(workshop.EXERCISES) - {"02.3"}

"""The demo's network: twelve people in urban planning, three weeks of their writing.

Written for pln's demo; every person, city and report here is invented. See the package's
docstring for the ``[words](/path)`` links and the relative dates.
"""

from __future__ import annotations

from aggregator.demo_data import Document, FeedKind, Person, Post, Toot, Topic

TITLE = "Urban Planning PLN"
DESCRIPTION = "What my urban planning network wrote: streets, housing, transit and climate"

# The report four people link to on the same day: the digest's "Most shared".
PARKING_REPORT = "/library/parking-minimums-ten-years-on/"
# Hannah's post that two others share the day it appears.
KITCHEN_TABLES = "/hannah/forty-kitchen-tables/"

TOPICS = (
    Topic(
        "Housing",
        "housing",
        'housing OR homes OR rent OR rents OR "missing middle" OR "zoning code" '
        'OR "zoning reform" OR "zoning table"',
    ),
    Topic("Transit", "transit", "transit OR bus OR buses OR tram OR trams OR rail OR timetable*"),
    Topic(
        "Walking and cycling",
        "active-travel",
        "cycling OR cyclists OR bike* OR bicycle* OR walking OR pedestrian* OR crossing* "
        "OR sidewalk* OR pavement*",
    ),
    Topic(
        "Climate adaptation",
        "climate",
        'heat OR heatwave* OR flood* OR "street trees" OR shade OR stormwater OR canopy',
    ),
    Topic(
        "Public engagement",
        "engagement",
        'engagement OR participatory OR workshop* OR residents OR "public meeting"*',
    ),
    Topic(
        "Parking",
        "parking",
        '"parking space" OR "parking spaces" OR "parking minimums" OR "parking lane" '
        'OR kerbside OR "loading zones" OR parklet*',
    ),
)

DOCUMENTS = (
    Document(
        path=PARKING_REPORT,
        title="Parking Minimums, Ten Years On",
        publisher="Civic Streets Lab",
        paragraphs=(
            "Ten years ago eleven mid-sized cities removed the minimum number of parking "
            "spaces their codes required of new buildings. This report follows what was built "
            "since: 412 projects, their parking, their rents and the streets around them.",
            "Developers still built parking, but less of it and where it paid: on average 0.6 "
            "spaces per home instead of the 1.5 the old codes asked for. Small infill projects "
            "on narrow lots, which the minimums had made impossible, were a third of all new "
            "homes by year six.",
            "Kerbside parking did not fill up the way opponents predicted. Occupancy in the "
            "blocks around new buildings rose by four points on average, and the cities that "
            "priced their kerbs saw no rise at all.",
        ),
    ),
)

AMARA = Person(
    name="Amara Osei",
    slug="amara",
    blog="Waiting at the Stop",
    bio="Transport planner. Buses, timetables and the people who wait for them.",
    feed=FeedKind.RSS,
    topics=("transit",),
    posts=(
        Post(
            "frequency-is-freedom",
            "Frequency is freedom, still",
            days_ago=18,
            at="07:40",
            paragraphs=(
                "Every network redesign I have worked on comes back to one chart: how long "
                "people wait. A bus every 10 minutes means nobody reads a timetable; a bus "
                "every 30 means everybody plans their day around it.",
                "This spring we moved four hours of service a day from two long, looping "
                "routes to a straight corridor line. Ridership on the corridor went up 22 "
                "percent in eight weeks. The loops lost riders, and we owe those riders a "
                "better answer than a map.",
            ),
            tags=("transit", "networks"),
        ),
        Post(
            "night-buses-are-care-work",
            "Night buses are care work",
            days_ago=11,
            at="21:15",
            paragraphs=(
                "Who rides the 1 a.m. bus? Nurses, cleaners, bakers, students, people leaving "
                "a shift at the warehouse. Our onboard survey found that 61 percent of night "
                "riders had no car in the household.",
                "When budgets tighten, night service is the first thing cut because the "
                "loads look thin. Count the trips it makes possible instead of the seats it "
                "fills, and the case looks very different.",
            ),
            tags=("transit", "equity"),
        ),
        Post(
            "stop-spacing-without-tears",
            "Stop spacing without tears",
            days_ago=6,
            at="08:05",
            paragraphs=(
                "Consolidating bus stops makes every trip faster, and every consultation on "
                "it is miserable. Here is what worked for us on the river corridor: we walked "
                "each stop we proposed to remove with the people who use it.",
                "Two stops stayed because the walk to the next one crossed a six-lane road "
                "with no signal. The other nine went, average running time fell by four "
                "minutes, and the complaints stopped within a month.",
            ),
            tags=("transit", "engagement"),
        ),
    ),
    toots=(
        Toot(
            15,
            "12:20",
            "Spent the morning riding the 14 end to end with a stopwatch. Forty minutes of "
            "the 71 were spent at signals. Transit signal priority is not glamorous, but it "
            "is most of the job. #transit",
        ),
        Toot(
            6,
            "08:30",
            "New post: how we consolidated bus stops on the river corridor without a revolt, "
            "by walking every one of them with its riders. "
            "[Stop spacing without tears](/amara/stop-spacing-without-tears/) #transit",
        ),
        Toot(
            3,
            "10:10",
            "The Civic Streets Lab report on ten years without parking minimums is out, and "
            "the transit chapter is worth your lunch break: "
            "[Parking Minimums, Ten Years On](" + PARKING_REPORT + ") #parking",
        ),
        Toot(
            1,
            "17:45",
            "Bus lane on Harbour Road is painted red as of this afternoon. Eight years "
            "of meetings for 900 metres of paint. Worth every one. #transit",
        ),
    ),
)

JONAS = Person(
    name="Jonas Lindqvist",
    slug="jonas",
    blog="Good Corners",
    bio="Street designer. Kerbs, crossings and the geometry of a good corner.",
    feed=FeedKind.ATOM,
    discovered=True,
    topics=("active-travel",),
    posts=(
        Post(
            "tight-corners",
            "Tight corners save lives",
            days_ago=19,
            at="09:00",
            paragraphs=(
                "A wide corner radius lets a driver turn at 40 km/h without braking. A tight "
                "one makes them slow to walking pace, and a pedestrian crossing there is seen "
                "in time. We rebuilt six corners on Mill Street with a 4-metre radius.",
                "Delivery trucks still make the turn: they use the whole intersection, slowly, "
                "which is exactly the point. Turning speeds fell from 31 to 17 km/h.",
            ),
            tags=("street design", "safety"),
        ),
        Post(
            "raised-crossings-budget",
            "Raised crossings on a small budget",
            days_ago=12,
            at="14:30",
            paragraphs=(
                "A raised crossing costs a tenth of a signal and works around the clock. The "
                "catch is drainage: lift the road and the water needs somewhere to go. Our "
                "standard detail now puts a channel drain on the uphill side.",
                "We built fourteen this year, most of them beside schools. Parents noticed "
                "before the speed counters did: children now walk to school on their own.",
            ),
            tags=("street design", "walking"),
        ),
        Post(
            "street-trees-in-the-kerb-line",
            "Planting street trees in the kerb line",
            days_ago=5,
            at="10:45",
            paragraphs=(
                "Our sidewalks are too narrow for trees, so we put them in the road: build-outs "
                "between parking spaces, each with a tree pit twice the usual volume and "
                "structural soil under the pavement.",
                "The build-outs shorten the crossing distance and slow turning cars. The "
                "street trees will take fifteen years to give real shade, which is why we "
                "planted them this year and not next.",
            ),
            tags=("street design", "trees"),
        ),
    ),
)

PRIYA = Person(
    name="Priya Raman",
    slug="priya",
    blog="Who Gets to Live Where",
    bio="Housing policy researcher. Zoning, rents and who gets to live where.",
    feed=FeedKind.JSON,
    topics=("housing",),
    posts=(
        Post(
            "missing-middle-by-the-numbers",
            "The missing middle, by the numbers",
            days_ago=17,
            at="11:00",
            paragraphs=(
                "Duplexes, triplexes, courtyard buildings: the missing middle of housing is "
                "legal again on 70 percent of our residential land since the zoning reform. "
                "In two years, 380 such homes have been permitted.",
                "That is not a flood, and it was never going to be. Small builders need "
                "small loans, and banks still price a fourplex like a tower. The zoning was "
                "the first door; financing is the second.",
            ),
            tags=("housing", "zoning"),
        ),
        Post(
            "what-parking-costs-a-renter",
            "What parking costs a renter",
            days_ago=3,
            at="09:20",
            paragraphs=(
                "The Civic Streets Lab's new report, [Parking Minimums, Ten Years On]("
                + PARKING_REPORT
                + "), gives us ten years of data on what happens when cities stop requiring "
                "parking. For renters, the answer is simple: a structured space costs about "
                "35,000 to build, and it shows up in the rent whether or not you own a car.",
                "Where the minimums went, rents on new homes without parking were 9 percent "
                "below comparable homes with it. That is a housing policy hiding in a "
                "transport code.",
            ),
            tags=("housing", "parking"),
        ),
        Post(
            "vacancy-tax-year-one",
            "The vacancy tax, year one",
            days_ago=1,
            at="13:10",
            paragraphs=(
                "A year after the council taxed homes left empty for more than six months, "
                "the count of vacant homes fell from 2,140 to 1,610. Some of that is owners "
                "renting out; some is owners finding clever reasons to look occupied.",
                "The revenue, smaller than promised, went to the housing trust. I would keep "
                "the tax, fix the self-declaration, and stop selling it as a cure.",
            ),
            tags=("housing", "tax"),
        ),
    ),
)

TOMAS = Person(
    name="Tomás Herrera",
    slug="tomas",
    blog="Shade Notes",
    bio="Climate adaptation planner. Heat, water and the shade between buildings.",
    feed=FeedKind.RSS_TEASER,
    topics=("climate",),
    posts=(
        Post(
            "mapping-the-hottest-blocks",
            "Mapping the hottest blocks in the city",
            days_ago=16,
            at="06:50",
            paragraphs=(
                "Last August forty volunteers drove sensor-fitted cars along set routes at "
                "dawn, at three in the afternoon and at dusk. The heat map they made shows a "
                "difference of 8 degrees between the leafy hill and the industrial flats "
                "on the same afternoon.",
                "The hottest blocks are not the densest ones. They are the ones with wide "
                "asphalt, flat dark roofs and no canopy: car parks, logistics yards and the "
                "1970s housing estates whose trees were never replaced.",
                "We overlaid the map with the addresses of people over 75 who live alone. "
                "Eleven blocks came out on top of both lists, and that is where the cooling "
                "centres, the misting points and the first tree planting will go.",
                "The sensors cost less than a single consultant's report. The volunteers "
                "asked to do it again next summer, which may be the best result of all.",
            ),
            tags=("heat", "mapping"),
        ),
        Post(
            "cool-roofs-school-pilot",
            "What the cool roofs pilot on three schools taught us",
            days_ago=9,
            at="07:30",
            paragraphs=(
                "In May we painted the roofs of three primary schools with a white "
                "reflective coating. Classroom temperatures on the top floor dropped by 2.5 "
                "degrees on the hottest afternoons, measured against a fourth school left as "
                "it was.",
                "The coating lost some of its whiteness by September, as the manufacturer "
                "said it would. Washing it once a year brings most of it back, and the "
                "caretakers have added it to the summer list.",
                "The surprise was the teachers. They said the rooms felt calmer, and "
                "attendance on heatwave days held up better than the year before. One pilot "
                "proves little, but the cost per classroom is lower than a fan.",
                "Next year: every school with a flat roof and no insulation planned within "
                "five years. Cool roofs are a stopgap, and a cheap, fast one.",
            ),
            tags=("heat", "schools"),
        ),
        Post(
            "sponge-streets-after-the-storm",
            "Sponge streets after the storm",
            days_ago=4,
            at="18:20",
            paragraphs=(
                "Tuesday's storm dropped 48 millimetres in an hour. Most of the city's drains "
                "overflowed, and Canal Street, rebuilt two years ago as a sponge street, "
                "stayed dry. Here is why.",
                "Its parking lane became a row of rain gardens, each one sunk 30 centimetres "
                "below the kerb and planted with sedges that like wet feet. Stormwater runs "
                "off the road through kerb cuts and soaks away instead of racing to the "
                "drain.",
                "The gardens held the first half hour of the storm, which is the half hour "
                "that floods basements. Residents who fought the loss of parking came out to "
                "watch the water disappear.",
                "Maintenance is the honest cost: leaves and litter have to be cleared from "
                "the kerb cuts every autumn, or the whole thing silts up. We budget for it "
                "like we budget for street sweeping.",
            ),
            tags=("flooding", "stormwater"),
        ),
        Post(
            "shade-audit-bus-stops",
            "A shade audit of every bus stop",
            days_ago=2,
            at="12:00",
            paragraphs=(
                "Waiting for a bus in full sun at 36 degrees is a health risk, not an "
                "inconvenience. So we checked every one of the city's 1,240 stops for shade "
                "at two in the afternoon in July.",
                "Only 31 percent had any: a shelter roof, a tree or a building's shadow. The "
                "stops with the most riders and the least shade were on the arterial roads "
                "out east, where the bus is how most people get to work.",
                "The transit team and we now share one list. Shelters go where the riders "
                "are, trees go where shelters cannot, and the timetable team is looking at "
                "shorter waits on the hottest routes.",
            ),
            tags=("heat", "transit"),
        ),
    ),
)

HANNAH = Person(
    name="Hannah Becker",
    slug="hannah",
    blog="Plans People Can See",
    bio="Community engagement practitioner. Plans people can see themselves in.",
    feed=FeedKind.ATOM,
    topics=("engagement",),
    posts=(
        Post(
            "beyond-the-town-hall",
            "Beyond the town hall meeting",
            days_ago=20,
            at="16:00",
            paragraphs=(
                "The town hall meeting selects for people with free evenings, a car and the "
                "confidence to hold a microphone. We stopped relying on it three years ago.",
                "Instead we go where people already are: the school gate at pick-up time, "
                "the laundrette, the Friday market. Fewer people per conversation, many "
                "more conversations, and residents we had never heard from.",
            ),
            tags=("engagement",),
        ),
        Post(
            "forty-kitchen-tables",
            "What we learned from forty kitchen tables",
            days_ago=9,
            at="09:30",
            paragraphs=(
                "For the Eastfield neighbourhood plan we paid forty residents to host a "
                "consultation at their own kitchen table, with their neighbours, using a kit "
                "of maps, stickers and questions we had tested in advance.",
                "Some 380 people took part, two thirds of whom had never answered a council "
                "survey. They cared less about building heights than about the walk to the "
                "bus stop, the lights in the underpass and where teenagers can go.",
                "The hosts were paid for their time, as any consultant would be. It was the "
                "best-spent money of the whole plan.",
            ),
            tags=("engagement", "neighbourhood plans"),
        ),
        Post(
            "saying-what-changed",
            "Saying what changed because of you",
            days_ago=2,
            at="15:40",
            paragraphs=(
                "The fastest way to lose trust is to consult and then go quiet. Every plan we "
                "publish now opens with a page called 'What you told us, and what we did': "
                "each thing residents asked for, and whether it is in, out or changed.",
                "The 'out' column is the hardest to write and the one people read most "
                "closely. Saying no with a reason respects people more than silence.",
            ),
            tags=("engagement",),
        ),
    ),
)

WEN = Person(
    name="Wen Li",
    slug="wen",
    blog="Open Maps, Plain Questions",
    bio="GIS analyst. Open data, maps and the questions they can answer.",
    feed=FeedKind.JSON,
    posts=(
        Post(
            "fifteen-minute-map",
            "A fifteen-minute map that admits what it leaves out",
            days_ago=14,
            at="10:15",
            paragraphs=(
                "I built a map of how much of daily life each address can reach on foot in "
                "fifteen minutes: a grocery, a school, a GP, a park, a bus stop. The code and "
                "data are open, and so is the list of everything it gets wrong.",
                "It uses walking speeds of fit adults, ignores hills, and counts a park as a "
                "park whether or not it is lit at night. A walking map that forgets "
                "wheelchair users is a map of some of the city.",
            ),
            tags=("maps", "walking"),
        ),
        Post(
            "publishing-permit-data",
            "Publishing permit data people can use",
            days_ago=7,
            at="11:45",
            paragraphs=(
                "Our building permit data was technically open: a PDF a month. Now it is a "
                "daily CSV with one row per permit, coordinates, the number of homes and "
                "the zoning it was granted under.",
                "Within a week a local newspaper had mapped where new housing is actually "
                "going, and two researchers had written asking for the history. Publishing "
                "is not the same as making something usable.",
            ),
            tags=("open data", "housing"),
        ),
        Post(
            "counting-bikes-with-cheap-sensors",
            "Counting bikes with cheap sensors",
            days_ago=1,
            at="09:00",
            paragraphs=(
                "We put twelve low-cost counters on the new bike lanes, each one a camera "
                "that counts and keeps no images. Against a manual count they were within "
                "6 percent for cyclists and hopeless for scooters.",
                "The Elm Street lane, the one the council nearly cancelled, carries 2,300 "
                "cyclists on a weekday. The dashboard updates every hour.",
            ),
            tags=("cycling", "data"),
        ),
    ),
    toots=(
        Toot(
            12,
            "16:20",
            "Reminder that a choropleth of counts mostly maps where people live. Normalise "
            "by population or area, or your map of bike thefts is a map of bikes. #gis",
        ),
        Toot(
            7,
            "12:10",
            "Our building permits are now a daily CSV with coordinates and zoning: "
            "[publishing permit data people can use](/wen/publishing-permit-data/) #opendata",
        ),
        Toot(
            4,
            "19:05",
            "Rain gauges at the depot recorded 48 mm in an hour today. Updating the flood "
            "layer of the open map tonight, with photos residents sent in. #flooding",
        ),
    ),
)

FATIMA = Person(
    name="Fatima Benali",
    slug="fatima",
    bio="Municipal planner. Development review by day, better processes by night.",
    toots=(
        Toot(
            19,
            "08:15",
            "Reviewed a 40-home scheme today whose design statement had a whole chapter on "
            "the car park and one sentence on where children play. Sent it back. #housing",
        ),
        Toot(
            13,
            "13:40",
            "Pre-application meetings are where plans actually change. Formal consultation "
            "comes when everything is drawn and nobody wants to redraw it. #engagement",
        ),
        Toot(
            9,
            "11:05",
            "Hannah's piece on paying residents to host kitchen-table consultations is the "
            "best thing I have read on engagement this year: "
            "[forty kitchen tables](" + KITCHEN_TABLES + ") #engagement",
        ),
        Toot(
            5,
            "15:30",
            "A developer asked me why we want street trees on every new road. Because in "
            "thirty years the trees will still be there and the heat will be worse. #climate",
        ),
    ),
)

RUTH = Person(
    name="Ruth Adeyemi",
    slug="ruth",
    bio="Community organiser. Markets, halls and the places a neighbourhood meets.",
    toots=(
        Toot(
            16,
            "18:30",
            "The Saturday market is back on Station Square after the works. Same stalls, "
            "wider pavements, and benches where the taxi rank used to be. #walking",
        ),
        Toot(
            9,
            "20:10",
            "Hosted one of the kitchen-table sessions Hannah writes about here, and my "
            "neighbours talked for three hours: "
            "[what we learned from forty kitchen tables](" + KITCHEN_TABLES + ") #engagement",
        ),
        Toot(
            4,
            "21:00",
            "The community hall basement flooded again in Tuesday's storm. Third time in "
            "five years. We need the sponge street to reach our end of Canal Street. #flooding",
        ),
    ),
)

DECLAN = Person(
    name="Declan Murphy",
    slug="declan",
    blog="Codes and Appeals",
    bio="Planning lawyer. Codes, appeals and the words that decide what gets built.",
    feed=FeedKind.RSS,
    posts=(
        Post(
            "by-right-or-by-fight",
            "By right, or by fight",
            days_ago=15,
            at="08:00",
            paragraphs=(
                "A home that is allowed 'by right' needs a permit and nothing more. A home "
                "that needs a variance needs a lawyer, a hearing and a year. Most of the "
                "housing fights I see are about which of the two the code made the default.",
                "If a city wants more homes, the most powerful change is often a single "
                "line: moving a use from the conditional column of the zoning table to the "
                "permitted one.",
            ),
            tags=("zoning", "housing"),
        ),
        Post(
            "appeals-are-not-engagement",
            "Appeals are not engagement",
            days_ago=8,
            at="17:20",
            paragraphs=(
                "Half the appeals I handle are from residents who first heard of a project "
                "when the cranes arrived. By then, the law offers them one tool, and it is "
                "a blunt one.",
                "Early, real consultation is cheaper for everyone, developers included. An "
                "appeal costs months; a workshop costs an evening.",
            ),
            tags=("appeals", "engagement"),
        ),
        Post(
            "plain-language-codes",
            "Writing zoning codes in plain language",
            days_ago=2,
            at="10:30",
            paragraphs=(
                "Our rewrite of the zoning code went from 640 pages to 210, mostly by "
                "deleting definitions nobody used and tables that repeated each other. "
                "Every rule now comes with a drawing.",
                "The test we used: could a homeowner work out, alone, whether they may add "
                "a garden flat? In the old code, no. In the new one, in about ten minutes.",
            ),
            tags=("zoning", "housing"),
        ),
    ),
)

SOFIA = Person(
    name="Sofia Márquez",
    slug="sofia",
    blog="Paint First",
    bio="Tactical urbanist. Paint, planters and trying things before pouring concrete.",
    feed=FeedKind.ATOM,
    topics=("active-travel",),
    posts=(
        Post(
            "paint-and-planters",
            "Paint and planters first, concrete later",
            days_ago=13,
            at="12:30",
            paragraphs=(
                "The school street on Rosa Avenue started as a trial: traffic cones, hired "
                "planters and chalk. For six weeks, cars could not enter at drop-off and "
                "pick-up times.",
                "Walking to school went from 38 to 61 percent of pupils, and the parents who "
                "had feared chaos asked for it to be permanent. A trial turns a debate about "
                "fears into a debate about facts.",
            ),
            tags=("tactical urbanism", "walking"),
        ),
        Post(
            "parklets-one-summer",
            "One summer of parklets",
            days_ago=5,
            at="16:10",
            paragraphs=(
                "Nine parklets replaced eighteen parking spaces on three shopping streets "
                "this summer. Seven of the nine shops beside them want to keep them.",
                "The two that did not are right to complain: their parklets were built with "
                "no shade, and nobody sat in them in July. Next year each one gets a canopy "
                "or a tree.",
            ),
            tags=("parklets", "parking"),
        ),
    ),
    toots=(
        Toot(
            10,
            "09:50",
            "Borrowed forty planters from the parks depot and closed a rat run for a "
            "weekend. Kids drew a hopscotch on the road within the hour. #tacticalurbanism",
        ),
        Toot(
            5,
            "16:40",
            "One summer of parklets, what worked and what did not (hint: shade): "
            "[one summer of parklets](/sofia/parklets-one-summer/) #parking",
        ),
    ),
)

KENJI = Person(
    name="Kenji Watanabe",
    slug="kenji",
    blog="Small Town, Small Budget",
    bio="Planner in a town of 30,000. Parking, main streets and small budgets.",
    feed=FeedKind.RSS,
    topics=("parking",),
    posts=(
        Post(
            "counting-every-space",
            "We counted every parking space in town",
            days_ago=18,
            at="19:00",
            paragraphs=(
                "Four interns, two weeks, one clipboard each: our town has 14,800 parking "
                "spaces for 11,200 households. At the busiest hour of a Saturday, 46 percent "
                "of them were empty.",
                "Nobody believed it until we showed them the photos of the empty decks "
                "behind the supermarket. The parking shortage on Main Street is a shortage "
                "of the ten spaces in front of the bakery.",
            ),
            tags=("parking", "small towns"),
        ),
        Post(
            "minimums-report-small-towns",
            "What the parking minimums report means for small towns",
            days_ago=3,
            at="08:45",
            paragraphs=(
                "The Civic Streets Lab report, [Parking Minimums, Ten Years On]("
                + PARKING_REPORT
                + "), studies cities, but its lesson travels. Our code asks a new café for one "
                "parking space per three seats, which is why Main Street has car parks where "
                "it could have cafés.",
                "We will propose dropping the minimums in the town centre this winter. I "
                "expect a long meeting, and I will bring the photos.",
            ),
            tags=("parking", "small towns"),
        ),
        Post(
            "main-street-loading-zones",
            "Loading zones for a main street",
            days_ago=1,
            at="11:30",
            paragraphs=(
                "Delivery vans double-park on Main Street because there is nowhere else to "
                "stop. We turned four kerbside spaces into loading zones from 7 to 11 in "
                "the morning and parking after that.",
                "Double parking fell by half in the first month, and the bus through town "
                "is on time again.",
            ),
            tags=("parking", "freight"),
        ),
    ),
)

ELIF = Person(
    name="Elif Demir",
    slug="elif",
    bio="Leads a bus network redesign. Maps, trade-offs and a lot of public meetings.",
    topics=("transit",),
    toots=(
        Toot(
            17,
            "10:30",
            "Draft bus network map goes to the council on Thursday. Fewer routes, every one "
            "of them every 12 minutes or better. Fewer lines on the map, more buses on the "
            "street. #transit",
        ),
        Toot(
            11,
            "14:15",
            "Forty-two comments at the drop-in session about the new bus network, and the "
            "one I keep thinking about: 'I don't mind walking further if I don't have to "
            "wait.' #transit",
        ),
        Toot(
            3,
            "13:00",
            "Ten years without parking minimums, and the transit ridership numbers in "
            "chapter four are striking: "
            "[Parking Minimums, Ten Years On](" + PARKING_REPORT + ") #parking",
        ),
        Toot(
            1,
            "08:20",
            "The new bus network starts in six weeks. Printing 40,000 leaflets in seven "
            "languages, and every stop gets a map. #transit",
        ),
    ),
)

PEOPLE = (AMARA, JONAS, PRIYA, TOMAS, HANNAH, WEN, FATIMA, RUTH, DECLAN, SOFIA, KENJI, ELIF)
